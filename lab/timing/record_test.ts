import assert from "node:assert/strict";
import { coveredMs, GuestTimer } from "./record.ts";

Deno.test("coveredMs: overlapping and nested commands count once, gaps not at all", () => {
  assert.equal(coveredMs([]), 0);
  assert.equal(coveredMs([[0, 10], [5, 20], [6, 7], [30, 35]]), 25);
  assert.equal(coveredMs([[30, 35], [0, 10]]), 15);
});

Deno.test("GuestTimer: side-by-side commands are each counted, the host time is the time with none running", async () => {
  const timer = new GuestTimer("cxl");
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  timer.begin("s", "t");
  await Promise.all([
    timer.exec("sleep 1", () => sleep(60)),
    timer.exec("kill -TERM 42 2>/dev/null; true", () => sleep(60)),
  ]);
  await sleep(60);
  timer.end();
  timer.begin("s", "u");
  await assert.rejects(timer.exec("cat /x", () => Promise.reject(new Error("gone"))));
  timer.end();
  const [t, u] = timer.timing.tests;
  assert.equal(t.execs.wait!.count, 1);
  assert.equal(t.execs["daemon-stop"]!.count, 1);
  assert.ok(t.execs.wait!.ms >= 55 && t.execs["daemon-stop"]!.ms >= 55);
  assert.ok(t.hostMs >= 50 && t.hostMs < t.wallMs - 50, `host ${t.hostMs} of wall ${t.wallMs}`);
  assert.equal(u.execs.shell!.count, 1, "a failed command is timed too");
});

Deno.test("GuestTimer: boots are listed one by one, stops add up", async () => {
  const timer = new GuestTimer("pmem");
  await timer.boot(() => new Promise((r) => setTimeout(r, 20)));
  await timer.boot(() => new Promise((r) => setTimeout(r, 20)));
  await timer.stop(() => new Promise((r) => setTimeout(r, 10)));
  await timer.stop(() => new Promise((r) => setTimeout(r, 10)));
  assert.equal(timer.timing.bootMs.length, 2);
  assert.ok(timer.timing.bootMs.every((b) => b >= 15));
  assert.ok(timer.timing.stopMs >= 18);
});
