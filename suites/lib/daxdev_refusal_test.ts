import assert from "node:assert/strict";
import {
  bootstrapEnd,
  ERRORS_AT_IO,
  judgeAccess,
  judgeBootstrap,
  RefusalFailed,
  refusalsOutcome,
} from "./daxdev_refusal.ts";
import { parseProbe } from "./probe.ts";
import type { ProbeResult } from "./probe_ops.ts";

// Recorded by get_daxdev on the ref kernel (pmem guest): per test, the outcome of each probe op and of the
// second daemon of device-held-ebusy.
const run = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/get_daxdev_ref_pmem.json", import.meta.url)),
) as { tests: Record<string, { results?: string[]; secondDaemon?: string[] }> };

/** A probe result back from its recorded outcome ("open:ENXIO", "ok"). */
function fromOutcome(o: string, i: number): ProbeResult {
  if (o === "ok") return { i, op: "read" };
  const [call, error] = o.split(":");
  return { i, op: i % 2 ? "mmap" : "read", call, error };
}
const recorded = (test: string) => run.tests[test].results!.map(fromOutcome);

Deno.test("judgeAccess: the ref kernel's refusals at open pass with their errno", () => {
  const want: Record<string, string[]> = {
    "error-reply": ["ENXIO"],
    "reply-size": ["EINVAL", "EINVAL", "EIO"],
    "reply-index": ["EINVAL", "EINVAL"],
    "name-not-usable": ["EINVAL", "EINVAL", "ENOENT", "ENOTDIR"],
    // The guest has no /dev/mem: its case expects ENOENT there.
    "name-not-a-dax-device": ["EINVAL", "EINVAL", "ENODEV", "ENODEV", "ENOENT"],
  };
  for (const [test, errnos] of Object.entries(want)) {
    const res = recorded(test);
    errnos.forEach((errno, k) => {
      const r = judgeAccess(errno, res.slice(2 * k, 2 * k + 2));
      assert.deepEqual(r, { kind: "pass", observed: "error at open" }, `${test} #${k}`);
    });
  }
});

Deno.test("judgeAccess: another errno, or data reachable, fails", () => {
  const res = recorded("error-reply");
  assert.equal(judgeAccess("EINVAL", res.slice(0, 2)).kind, "fail");
  // The valid file's read after the cases: an open that worked and bytes that matched.
  const ok = res[2];
  assert.equal(judgeAccess("ENXIO", [ok, ok]).kind, "fail");
});

Deno.test("judgeAccess: open ok, read EIO, mapping SIGBUS is the posted series' deviation", () => {
  // The SIGBUS result as parseProbe makes it from a captured probe death.
  const sigbus = parseProbe(
    Deno.readTextFileSync(new URL("./testdata/probe_sigbus.stdout", import.meta.url)),
    135,
    null,
  ).results.find((r) => r.error === "SIGBUS")!;
  const r = judgeAccess("ENXIO", [{ i: 0, op: "read", call: "read", error: "EIO" }, sigbus]);
  assert.equal(r.kind, "deviation");
  assert.equal(r.kind === "deviation" && r.deviation, ERRORS_AT_IO);
});

Deno.test("bootstrapEnd: the second daemon of a held device failed its open with EBUSY", () => {
  const out = run.tests["device-held-ebusy"].secondDaemon!.join("\n");
  const end = bootstrapEnd(0, out);
  assert.deepEqual(end, { kind: "open", errno: "EBUSY" });
  assert.equal(judgeBootstrap("EBUSY", end).kind, "pass");
  assert.equal(judgeBootstrap("ENODEV", end).kind, "fail");
});

Deno.test("bootstrapEnd: a death by SIGBUS is the deviation, a ready daemon fails", () => {
  const end = bootstrapEnd(135, "");
  assert.deepEqual(end, { kind: "sigbus" });
  assert.equal(judgeBootstrap("EINVAL", end).kind, "deviation");
  assert.equal(judgeBootstrap("EINVAL", { kind: "ready" }).kind, "fail");
  assert.equal(bootstrapEnd(1, "famfs: something else\n").kind, "other");
});

Deno.test("refusalsOutcome: failures throw with their names, deviations are named in the outcome", () => {
  const sigbus = judgeBootstrap("EACCES", bootstrapEnd(135, ""));
  const held = judgeBootstrap("EBUSY", bootstrapEnd(0, run.tests["device-held-ebusy"].secondDaemon!.join("\n")));
  assert.equal(refusalsOutcome([["held", held]]), undefined);
  assert.deepEqual(refusalsOutcome([["held", held], ["node", sigbus]]), {
    kind: "deviation",
    deviation: ERRORS_AT_IO,
    observed: "node: the daemon's open ok, its mapping access SIGBUS",
  });
  assert.throws(
    () => refusalsOutcome([["node", sigbus], ["held", judgeBootstrap("ENODEV", bootstrapEnd(0, "x"))]]),
    (e: Error) => e instanceof RefusalFailed && /^held: the daemon's open must fail with ENODEV/.test(e.message),
  );
});
