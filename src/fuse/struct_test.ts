import { assertEquals, assertThrows } from "./assert.ts";
import { FuseDecodeError } from "./errors.ts";
import { struct } from "./struct.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const DEMO = struct("demo", [
  { name: "a", type: "u8" },
  { name: "b", type: "u16", offset: 2 },
  { name: "c", type: "i32" },
  { name: "d", type: "u64" },
  { name: "pad", type: "u32", zero: true },
  { name: "tag", type: "string[6]" },
  { name: "raw", type: "bytes[2]" },
], { size: 32, minSize: 8 });

Deno.test("struct: offsets follow the order, explicit ones leave a gap, size covers the tail", () => {
  assertEquals(
    ["a", "b", "c", "d", "pad", "tag", "raw"].map((f) => DEMO.offsetOf(f as "a")),
    [0, 2, 4, 8, 16, 20, 26],
  );
  assertEquals(DEMO.size, 32);
  const b = DEMO.encode({ a: 0x11, b: 0x2233, c: -2, d: 0x0102030405060708n, tag: "dax", raw: new Uint8Array([9, 8]) });
  assertEquals(
    hex(b),
    "1100" + "3322" + "feffffff" + "0807060504030201" + "00000000" + "646178000000" + "0908" + "00000000",
  );
  assertEquals(DEMO.decode(b), {
    a: 0x11,
    b: 0x2233,
    c: -2,
    d: 0x0102030405060708n,
    pad: 0,
    tag: "dax",
    raw: new Uint8Array([9, 8]),
  });
});

Deno.test("struct: decode at an offset, fields past a short body read as zero, shorter than minSize refused", () => {
  const b = new Uint8Array(3 + 8);
  b.set([0x7f, 0, 0x01, 0x02, 0xff, 0xff, 0xff, 0x7f], 3);
  const d = DEMO.decode(b, 3);
  assertEquals([d.a, d.b, d.c, d.d, d.tag], [0x7f, 0x0201, 0x7fffffff, 0n, ""]);
  assertThrows(() => DEMO.decode(new Uint8Array(7)), FuseDecodeError, "demo: body has 7 bytes, needs 8");
});

Deno.test("struct: a table whose fields overrun its declared size is refused", () => {
  assertThrows(() => struct("bad", [{ name: "x", type: "u64" }], { size: 4 }), RangeError, "past size 4");
});
