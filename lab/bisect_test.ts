import assert from "node:assert/strict";
import { firstFailing, parseTestSelector, renderBisect, selectedStatus } from "./bisect.ts";
import type { TestResult } from "./report/result.ts";

Deno.test("firstFailing finds the boundary asking each prefix at most once, both sides of the answer included", async () => {
  for (let n = 1; n <= 9; n++) {
    for (let culprit = 1; culprit <= n; culprit++) {
      const asked: number[] = [];
      const k = await firstFailing(n, (p) => {
        asked.push(p);
        return Promise.resolve(p >= culprit);
      });
      assert.equal(k, culprit, `n=${n} culprit=${culprit}`);
      assert.equal(new Set(asked).size, asked.length);
      assert.ok(asked.length <= 2 * Math.ceil(Math.log2(n + 1)), `n=${n}: asked ${asked.join(",")}`);
      // The answer's neighbour below was asked (and passed) unless it is the base, which bisectSeries runs itself.
      if (culprit > 1) assert.ok(asked.includes(culprit - 1), `n=${n} culprit=${culprit}: ${asked.join(",")}`);
    }
  }
});

Deno.test("prefixes that fail before the feature is complete do not hide the patch that broke it", async () => {
  // ref (5 patches) + a mutant: famfs tests fail on prefixes 1-3 (no GET_DAXDEV yet), pass on 4-5, fail on 6.
  const asked: number[] = [];
  const k = await firstFailing(6, (p) => {
    asked.push(p);
    return Promise.resolve(p <= 3 || p === 6);
  });
  assert.equal(k, 6);
  assert.deepEqual(asked, [5]);
});

Deno.test("a test is selected by suite and name, on every guest or one", () => {
  assert.deepEqual(parseTestSelector("permission_nodev/nodev-mount"), {
    suite: "permission_nodev",
    name: "nodev-mount",
  });
  assert.deepEqual(parseTestSelector("smoke@pmem/fuse-available"), {
    suite: "smoke",
    topology: "pmem",
    name: "fuse-available",
  });
  assert.equal(parseTestSelector("smoke"), null);
  const r = (suite: string, name: string, status: TestResult["status"]): TestResult => ({
    suite,
    name,
    status,
    durationMs: 1,
    findings: [],
  });
  const results = [r("smoke@pmem", "a", "pass"), r("smoke@cxl", "a", "fail"), r("smoke@pmem", "b", "skip")];
  assert.equal(selectedStatus(parseTestSelector("smoke/a")!, results), "fail");
  assert.equal(selectedStatus(parseTestSelector("smoke@pmem/a")!, results), "pass");
  assert.equal(selectedStatus(parseTestSelector("smoke/b")!, results), "skip");
  assert.equal(selectedStatus(parseTestSelector("smoke/c")!, results), null);
});

Deno.test("the bisect answer names the patch and both runs", () => {
  const text = renderBisect("permission_nodev/nodev-mount", {
    first: 6,
    patch: "skip-nodev-check.patch: [PATCH] MUTANT skip-nodev-check",
    passingRun: "reports/b/prefix-5",
    failingRun: "reports/b/prefix-6",
  });
  assert.match(text, /first failing patch #6: skip-nodev-check.patch/);
  assert.match(text, /passes with patches 1..5: reports\/b\/prefix-5/);
  assert.match(renderBisect("x/y", { first: null }), /does not fail on the whole series/);
});
