import { assertEquals } from "./assert.ts";
import { InterruptTable } from "./loop.ts";

Deno.test("interrupt table: FUSE_INTERRUPT flags only the worker serving that unique, until it begins the next", () => {
  const t = new InterruptTable(new SharedArrayBuffer(InterruptTable.bytes(3)), 3);
  t.begin(0, 10n);
  t.begin(1, 77n);
  t.begin(2, 12n);
  assertEquals(t.interrupt(5n), false);
  assertEquals(t.interrupt(77n), true);
  assertEquals([0, 1, 2].map((w) => t.isInterrupted(w)), [false, true, false]);
  t.end(1);
  assertEquals(t.interrupt(77n), false);
  t.begin(1, 78n);
  assertEquals(t.isInterrupted(1), false);
  assertEquals(t.interrupt(12n), true);
  assertEquals([0, 1, 2].map((w) => t.isInterrupted(w)), [false, false, true]);
});

Deno.test("interrupt table: one 64-byte cache line per worker (no line written by two workers)", () => {
  assertEquals(InterruptTable.bytes(1), 64);
  assertEquals(InterruptTable.bytes(4), 256);
  const sab = new SharedArrayBuffer(InterruptTable.bytes(2));
  const t = new InterruptTable(sab, 2);
  t.begin(1, 0x0102030405060708n);
  t.interrupt(0x0102030405060708n);
  const written = [...new Uint8Array(sab)].flatMap((b, i) => (b ? [i] : []));
  assertEquals(written.every((i) => i >= 64), true);
});
