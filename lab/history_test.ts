import assert from "node:assert/strict";
import {
  addEntry,
  entryOf,
  flakyTests,
  type HistoryIndex,
  previousOf,
  readIndex,
  recordRun,
  regressionsSince,
  renderTrend,
} from "./history.ts";
import type { RunSummary } from "./report/summary.ts";
import type { TestStatus } from "./report/result.ts";
import { writeShardRecord } from "./shard.ts";

const smokeRun = JSON.parse(
  await Deno.readTextFile(new URL("./report/testdata/smoke-run.summary.json", import.meta.url)),
) as RunSummary;

/** The captured run as another night: new id and date, some verdicts changed. */
function night(n: number, statuses: Record<string, TestStatus> = {}, kernel = smokeRun.kernel): RunSummary {
  return {
    ...smokeRun,
    runId: `night-${n}`,
    kernel,
    startedAt: `2026-11-${String(20 + n).padStart(2, "0")}T01:00:00.000Z`,
    tests: smokeRun.tests.map((t) => ({ ...t, status: statuses[t.name] ?? t.status })),
  };
}

Deno.test("entryOf keeps kernel, profile, flavour, lab commit, every verdict and every ratio", () => {
  const e = entryOf(
    { ...smokeRun, kernel: "debian 7.3.4-1~bpo13+1 + ref (5 patches) base" },
    "2388b1b",
  );
  assert.equal(e.profile, "ref");
  assert.equal(e.flavour, "base");
  assert.equal(e.lab, "2388b1b");
  assert.equal(e.verdicts["smoke@default/devdax-mmap-roundtrip"], "fail");
  assert.equal(Object.keys(e.verdicts).length, smokeRun.tests.length);
  assert.equal(entryOf(smokeRun, "x").profile, "stock");
  const withRatio = entryOf({
    ...smokeRun,
    tests: [{ ...smokeRun.tests[0], suite: "throughput@pmem", name: "mmap", details: { seqReadRatio: 1.04, MBps: 9 } }],
  }, "x");
  assert.deepEqual(withRatio.ratios, { "throughput@pmem/mmap/seqReadRatio": 1.04 });
});

Deno.test("addEntry keeps runs oldest first and replaces a run recorded again", () => {
  let index: HistoryIndex = { runs: [] };
  for (const n of [3, 1, 2, 3]) index = addEntry(index, entryOf(night(n), "a"));
  assert.deepEqual(index.runs.map((r) => r.runId), ["night-1", "night-2", "night-3"]);
});

Deno.test("a night is compared with the previous night of the same profile: pass -> fail is a regression", () => {
  let index: HistoryIndex = { runs: [] };
  const n1 = entryOf(night(1), "a");
  const n2 = entryOf(night(2, { "fuse-available": "fail", "devdax-mmap-roundtrip": "pass" }), "b");
  const other = entryOf(night(3, {}, "debian 7.3.4 + v3 (9 patches) base"), "b");
  for (const e of [n1, n2, other]) index = addEntry(index, e);
  assert.equal(previousOf(index, n2)?.runId, "night-1");
  assert.equal(previousOf(index, other), null, "another profile is not compared");
  assert.deepEqual(regressionsSince(n1, n2), [{ test: "smoke@default/fuse-available", was: "pass", now: "fail" }]);
  assert.deepEqual(regressionsSince(n2, n1), [{
    test: "smoke@default/devdax-mmap-roundtrip",
    was: "pass",
    now: "fail",
  }]);
});

Deno.test("flaky: a verdict that flips with the same kernel and lab; a flip across a lab change is not", () => {
  let index: HistoryIndex = { runs: [] };
  index = addEntry(index, entryOf(night(1), "aaaa111"));
  index = addEntry(index, entryOf(night(2, { "fuse-available": "fail" }), "aaaa111"));
  index = addEntry(index, entryOf(night(3), "aaaa111"));
  index = addEntry(index, entryOf(night(4, { "kernel-log-clean": "fail" }), "bbbb222"));
  index = addEntry(index, entryOf(night(5, { "kernel-log-clean": "fail" }), "bbbb222-dirty"));
  const flaky = flakyTests(index);
  assert.deepEqual(flaky.map((f) => [f.test, f.lab, f.verdicts.map((v) => v[1]).join(",")]), [
    ["smoke@default/fuse-available", "aaaa111", "pass,fail,pass"],
  ]);
  const page = renderTrend(index);
  assert.match(page, /<tr class="flaky"><td>smoke@default\/fuse-available<\/td>/);
  assert.doesNotMatch(page, /<tr class="flaky"><td>smoke@default\/kernel-log-clean/);
  assert.equal((page.match(/<th class="run change"/g) ?? []).length, 2, "the two lab changes are marked");
  assert.equal((page.match(/<td class="v fail"/g) ?? []).length, 5 + 1 + 2);
});

Deno.test("the trend page draws each ratio over the runs, goal missed or met", () => {
  let index: HistoryIndex = { runs: [] };
  [1.04, 0.71, 1.16].forEach((v, i) => {
    const s = night(i + 1);
    s.tests = [{ ...s.tests[0], suite: "throughput@pmem", name: "mmap", details: { randReadRatio: v } }];
    index = addEntry(index, entryOf(s, "a"));
  });
  const page = renderTrend(index);
  assert.match(page, /throughput@pmem\/mmap\/randReadRatio<\/td><td><svg class="spark"/);
  assert.deepEqual([...page.matchAll(/class="(met|missed)"><title>([\d.]+)x/g)].map((m) => [m[1], m[2]]), [
    ["met", "1.04"],
    ["missed", "0.71"],
    ["met", "1.16"],
  ]);
  assert.match(page, /<td class="num">1\.16x<\/td>/);
});

Deno.test("recordRun adds a report folder to the index on disk and returns the regressions", async () => {
  const root = await Deno.makeTempDir({ prefix: "famfs-lab-history-" });
  try {
    for (const [n, s] of [[1, night(1)], [2, night(2, { "fuse-available": "fail" })]] as const) {
      await Deno.mkdir(`${root}/r${n}`);
      await Deno.writeTextFile(`${root}/r${n}/summary.json`, JSON.stringify(s));
      await writeShardRecord(`${root}/r${n}`, {
        key: { kernel: s.kernel, lab: "2388b1b", matrix: [] },
        shard: { index: 1, count: 1 },
        cells: [],
      });
    }
    const first = await recordRun(`${root}/h`, `${root}/r1`);
    assert.equal(first.previous, null);
    const second = await recordRun(`${root}/h`, `${root}/r2`);
    assert.equal(second.previous?.runId, "night-1");
    assert.deepEqual(second.regressions.map((r) => r.test), ["smoke@default/fuse-available"]);
    assert.equal(second.entry.lab, "2388b1b");
    assert.deepEqual((await readIndex(`${root}/h`)).runs.map((r) => r.runId), ["night-1", "night-2"]);
    assert.match(await Deno.readTextFile(`${root}/h/index.html`), /famfs-lab trend/);
    await assert.rejects(recordRun(`${root}/h`, `${root}/nowhere`), /no readable summary\.json/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
