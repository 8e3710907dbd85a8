import assert from "node:assert/strict";
import { compareRuns, isRegression, noWorse, readRunSummary, renderComparison } from "./compare.ts";

const dir = new URL("./testdata/compare/", import.meta.url).pathname;
const load = (name: string) => readRunSummary(`${dir}${name}`);

Deno.test("two real runs with the same results: nothing regressed, every test unchanged", async () => {
  const c = compareRuns(await load("ref"), await load("three"));
  assert.equal(c.unchanged, 5);
  assert.deepEqual(
    [c.regressions, c.fixes, c.deviationsNew, c.deviationsGone, c.reportsNew, c.reportsGone],
    [[], [], [], [], [], []],
  );
  assert.ok(noWorse(c));
});

Deno.test("edited runs: regressions, fixes, deviations and kernel reports in both directions", async () => {
  const c = compareRuns(await load("ref-edited"), await load("three-regressed"));
  assert.deepEqual(c.regressions.map((r) => [r.id, r.from, r.to]), [
    ["smoke@pmem/devdax-mmap-roundtrip", "pass", "fail"],
    ["smoke@pmem/fuse-available", "pass", "missing"],
  ]);
  assert.match(c.regressions[0].message!, /^mmap read back/);
  assert.deepEqual(c.fixes.map((r) => [r.id, r.from, r.to]), [["smoke@pmem/dax-devices-present", "fail", "pass"]]);
  assert.deepEqual(c.deviationsNew.map((r) => [r.id, r.from, r.to]), [
    ["smoke@pmem/kernel-log-clean", "pass", "deviation"],
  ]);
  assert.deepEqual(c.deviationsGone.map((r) => [r.id, r.from, r.to]), [
    ["boot@pmem/kernel-log-outside-tests", "deviation", "pass"],
  ]);
  assert.deepEqual(c.reportsNew, [{ title: "WARNING in lkdtm_WARNING", tests: ["smoke@pmem/devdax-mmap-roundtrip"] }]);
  assert.deepEqual(c.reportsGone, [{
    title: "INFO: task hung in lkdtm_HUNG_TASK",
    tests: ["boot@pmem/kernel-log-outside-tests"],
  }]);
  assert.equal(c.unchanged, 0);
  assert.ok(!noWorse(c));
  const text = renderComparison(c);
  assert.match(text, /^REGRESSIONS \(2\):\n {2}smoke@pmem\/devdax-mmap-roundtrip: pass -> fail {2}\(mmap read back/m);
  assert.match(
    text,
    /^KERNEL REPORTS NEW \(1\):\n {2}WARNING in lkdtm_WARNING {2}\[smoke@pmem\/devdax-mmap-roundtrip\]$/m,
  );
  assert.match(text, /^2 regressed, 1 fixed, 1 deviations new, 1 gone, 1 kernel reports new, 1 gone, 0 unchanged$/m);
});

Deno.test("a repeat of a known kernel report under other pids and CPUs is not new", async () => {
  const base = await load("ref-edited");
  const again = structuredClone(base);
  const f = again.tests.find((t) => t.findings.length > 0)!.findings[0];
  f.firstLine = f.firstLine.replace(/sh:\d+/, "sh:4242");
  f.lines = f.lines.map((l) => l.replace(/pid:\d+/, "pid:4242"));
  assert.deepEqual(compareRuns(base, again).reportsNew, []);
});

Deno.test("what counts as a regression", () => {
  assert.ok(isRegression("pass", "fail") && isRegression("deviation", "fail") && isRegression("missing", "fail"));
  assert.ok(isRegression("pass", "missing") && isRegression("skip", "fail"));
  assert.ok(!isRegression("fail", "fail") && !isRegression("pass", "skip") && !isRegression("fail", "missing"));
});

Deno.test("a folder without summary.json is named", async () => {
  await assert.rejects(readRunSummary(`${dir}no-such-run`), /no-such-run: no summary.json/);
});
