// Integration: the main job through the CLI, as a user runs it (every suite, pmem and CXL
// guests, the default kernel), judged by what it runs, its exit status and the reports it leaves.
import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";
import { SUITES } from "../suites/index.ts";

Deno.test({
  name: "main job: every suite runs on the pmem and the CXL guest, smoke passes, every report is written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const runId = `tests/main-${Date.now()}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        ...LAB_CLI,
        "run",
        "--run-id",
        runId,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const dir = `${REPO_DIR}/reports/${runId}`;
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`)) as RunSummary;
    // Conformance failures are findings about the kernel under test (README: known results of
    // the reference series); the lab must run everything, report them and exit non-zero.
    assert.equal(out.code, summary.counts.failed === 0 ? 0 : 1, new TextDecoder().decode(out.stderr).slice(-3000));
    assert.match(
      stdout,
      new RegExp(
        `^${summary.counts.passed} passed, ${summary.counts.failed} failed, ${summary.counts.skipped} skipped$`,
        "m",
      ),
    );
    for (const topo of ["pmem", "cxl"]) {
      for (const suite of SUITES) {
        const ran = summary.tests.filter((t) => t.suite === `${suite.name}@${topo}`);
        assert.equal(ran.length, suite.tests.length, `${suite.name} ran every test on ${topo}`);
      }
      const smoke = summary.tests.filter((t) => t.suite === `smoke@${topo}`);
      assert.deepEqual(smoke.filter((t) => t.status !== "pass").map((t) => t.message), [], `smoke passes on ${topo}`);
      for (const f of ["console.log", "repro.sh"]) await Deno.stat(`${dir}/${topo}/${f}`);
    }
    for (const f of ["index.html", "junit.xml", "summary.json", "smoke_pmem.tap"]) await Deno.stat(`${dir}/${f}`);
    const junit = await Deno.readTextFile(`${dir}/junit.xml`);
    assert.equal((junit.match(/<testcase /g) ?? []).length, summary.tests.length);
  },
});
