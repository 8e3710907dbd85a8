import { assertEquals } from "../fuse/assert.ts";
import { NameIndex } from "./name_index.ts";

const te = new TextEncoder();
/** A LOOKUP body: the name, its NUL, and bytes after it that must not count. */
const body = (name: string) => {
  const b = te.encode(name);
  const out = new Uint8Array(b.length + 3).fill(0x7a);
  out.set(b);
  out[b.length] = 0;
  return { bytes: out, end: b.length };
};

Deno.test("name index: finds each name under its own parent, by the bytes before the NUL only", () => {
  const ix = new NameIndex<string>();
  ix.add(1, "f1", "root/f1");
  ix.add(1000, "f1", "dir/f1");
  ix.add(1, "café", "root/café");
  ix.add(2 ** 40 + 64, "sub", "implicit/sub");
  const find = (parent: number, name: string) => {
    const { bytes, end } = body(name);
    return ix.find(parent, bytes, end);
  };
  assertEquals(find(1, "f1"), "root/f1");
  assertEquals(find(1000, "f1"), "dir/f1");
  assertEquals(find(1, "café"), "root/café");
  assertEquals(find(2 ** 40 + 64, "sub"), "implicit/sub");
  assertEquals(find(64, "sub"), undefined);
  assertEquals(find(1, "f"), undefined);
  assertEquals(find(1, "f1z"), undefined);
  assertEquals(find(2, "f1"), undefined);
});

Deno.test("name index: 200000 names in one directory (about 19 expected 30-bit hash collisions) each find their own", () => {
  const ix = new NameIndex<number>();
  const n = 200_000;
  for (let i = 0; i < n; i++) ix.add(1, `file-${i}`, i);
  let found = 0;
  for (let i = 0; i < n; i++) {
    const { bytes, end } = body(`file-${i}`);
    if (ix.find(1, bytes, end) === i) found++;
  }
  assertEquals(found, n);
  const { bytes, end } = body(`file-${n}`);
  assertEquals(ix.find(1, bytes, end), undefined);
});
