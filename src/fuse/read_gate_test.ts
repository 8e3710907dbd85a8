import { assertEquals } from "./assert.ts";
import { PARK_MAX_MS, ReadGate } from "./read_gate.ts";

/** A second thread that enters the gate on the same shared memory; resolves its messages in order. */
function otherWorker(sab: SharedArrayBuffer, parkMs: number) {
  const w = new Worker(new URL("./testdata/read_gate_worker.ts", import.meta.url), { type: "module" });
  const seen: Array<{ msg: string; at: number }> = [];
  let notify = () => {};
  w.onmessage = (e: MessageEvent<string>) => {
    seen.push({ msg: e.data, at: performance.now() });
    notify();
  };
  const until = (msg: string) =>
    new Promise<number>((resolve) => {
      const check = () => {
        const hit = seen.find((s) => s.msg === msg);
        if (hit) resolve(hit.at);
      };
      notify = check;
      check();
    });
  w.postMessage({ sab, parkMs });
  return { w, seen, until };
}

Deno.test("read gate: one reader at a time; a parked worker takes its turn once the reader leaves", async () => {
  const sab = new SharedArrayBuffer(ReadGate.bytes());
  const mine = new ReadGate(sab);
  mine.enter();
  assertEquals(mine.reading, 1);
  const other = otherWorker(sab, PARK_MAX_MS);
  try {
    await other.until("entering");
    await new Promise((r) => setTimeout(r, 3 * PARK_MAX_MS));
    assertEquals(other.seen.map((s) => s.msg), ["entering"], "entered while another worker was reading");
    const left = performance.now();
    mine.leave(false);
    const entered = await other.until("entered");
    assertEquals(mine.reading, 1);
    assertEquals(entered - left < 10 * PARK_MAX_MS, true, `took ${entered - left} ms to take its turn`);
    other.w.postMessage("leave");
    await other.until("left");
    assertEquals(mine.reading, 0);
  } finally {
    other.w.terminate();
  }
});

Deno.test("read gate: a long request or a closing worker wakes a parked one at once (not at its next check)", async () => {
  for (const release of ["long", "close"] as const) {
    const sab = new SharedArrayBuffer(ReadGate.bytes());
    const mine = new ReadGate(sab);
    mine.enter();
    const other = otherWorker(sab, 3_600_000); // its own checks come an hour apart
    try {
      await other.until("entering");
      await new Promise((r) => setTimeout(r, 50));
      assertEquals(mine.reading, 1);
      const woke = performance.now();
      if (release === "long") mine.leave(true);
      else {
        mine.leave(false);
        mine.close();
      }
      const entered = await other.until("entered");
      assertEquals(entered - woke < 5000, true, `${release}: took ${entered - woke} ms`);
    } finally {
      other.w.terminate();
    }
  }
});

Deno.test("read gate: enter(false) reads at once beside another reader (after a data copy)", () => {
  const sab = new SharedArrayBuffer(ReadGate.bytes());
  const a = new ReadGate(sab);
  const b = new ReadGate(sab);
  a.enter();
  b.enter(false);
  assertEquals(a.reading, 2);
  a.leave(false);
  b.leave(false);
  assertEquals(a.reading, 0);
});
