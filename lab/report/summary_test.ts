import assert from "node:assert/strict";
import { buildSummary, writeSummary } from "./summary.ts";
import { sample } from "./testdata/results.ts";
import { writeRunReports } from "./write.ts";

const input = {
  runId: "20261124-154500-base",
  kernel: "7.3.4 base",
  topology: "pmem1",
  startedAt: new Date("2026-11-24T15:45:00.000Z"),
  wallMs: 5321.7,
  specification: "famfs-lab conformance spec 1",
  famfs: { profile: "ref", how: "detected from fuse.h" },
  notApplicable: [],
  tests: sample,
};

Deno.test("buildSummary counts statuses and keeps the tests in order", () => {
  const s = buildSummary(input);
  assert.deepEqual(s.counts, { passed: 1, failed: 2, skipped: 1, deviations: 0 });
  assert.equal(s.startedAt, "2026-11-24T15:45:00.000Z");
  assert.equal(s.wallMs, 5322);
  assert.deepEqual(s.tests.map((t) => t.name), [
    "mount",
    "write_past_eof",
    "cxl # region",
    "read back",
  ]);
  assert.equal(s.tests[1].findings[0].kind, "warning");
});

Deno.test("writeSummary and writeRunReports write parseable files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "famfs-lab-report-" });
  try {
    const s = buildSummary(input);
    const path = await writeSummary(`${dir}/a`, s);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), s);

    const w = await writeRunReports(`${dir}/b`, s);
    assert.deepEqual(w.tap, [`${dir}/b/famfs-basic.tap`]);
    assert.match(
      await Deno.readTextFile(w.tap[0]),
      /^TAP version 13\n1\.\.4\n/,
    );
    assert.match(
      await Deno.readTextFile(w.junit),
      /<testsuites name="famfs-lab 20261124-154500-base" tests="4"/,
    );
    assert.equal(
      JSON.parse(await Deno.readTextFile(w.summary)).counts.failed,
      2,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
