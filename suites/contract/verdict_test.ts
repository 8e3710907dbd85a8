import assert from "node:assert/strict";
import { decide } from "./verdict.ts";
import { CONTRACTS } from "./profiles.ts";

const base = { findings: [], expectFindings: false, contract: CONTRACTS.ref };

Deno.test("verdict: a returned nothing is a pass, a throw a fail with its message", () => {
  assert.deepEqual(decide({ ...base }), { status: "pass" });
  assert.deepEqual(decide({ ...base, error: "open: EINVAL expected" }), {
    status: "fail",
    message: "open: EINVAL expected",
  });
});

Deno.test("verdict: a timeout or a lost guest fails whatever the test returned", () => {
  assert.equal(decide({ ...base, outcome: { kind: "pass" }, timedOutAfterMs: 5000 }).status, "fail");
  assert.match(decide({ ...base, notRun: "guest hung earlier in the run" }).message!, /hung/);
});

Deno.test("verdict: kernel reports fail a passing test unless it provokes them", () => {
  const f = { ...base, findings: ["WARNING: CPU: 1 PID: 7 at fs/fuse/famfs.c:120"] };
  assert.deepEqual(decide(f).status, "fail");
  assert.match(decide(f).message!, /kernel reported during the test: WARNING/);
  assert.equal(decide({ ...f, expectFindings: true }).status, "pass");
  assert.match(decide({ ...f, error: "bytes differ" }).message!, /bytes differ\nkernel reported/);
});

Deno.test("verdict: a deviation counts only where the profile's contract allows it", () => {
  const o = { kind: "deviation", deviation: "daxdev-errors-at-io", observed: "read EIO, access SIGBUS" } as const;
  assert.deepEqual(decide({ ...base, outcome: o, contract: CONTRACTS.v3 }), {
    status: "deviation",
    deviation: "daxdev-errors-at-io",
    message: "GET_DAXDEV errors surface at I/O (EIO, SIGBUS), not at open: read EIO, access SIGBUS",
  });
  const onRef = decide({ ...base, outcome: o });
  assert.equal(onRef.status, "fail");
  assert.match(onRef.message!, /not an allowed deviation of profile ref/);
  const unknown = decide({ ...base, outcome: { kind: "deviation", deviation: "made-up", observed: "x" } });
  assert.equal(unknown.status, "fail");
});

Deno.test("verdict: a skip keeps its reason", () => {
  assert.deepEqual(decide({ ...base, outcome: { kind: "skip", reason: "needs a second DAX device" } }), {
    status: "skip",
    message: "needs a second DAX device",
  });
});
