// Integration: the main job through the CLI, as a user runs it (every suite, pmem and CXL
// guests, the default kernel), judged by its exit status and the reports it leaves.
import assert from "node:assert/strict";
import { REPO_DIR } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";

Deno.test({
  name: "main job: all suites pass on the reference kernel, on pmem and CXL, with every report written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const runId = `tests/main-${Date.now()}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        "--allow-sys",
        "--allow-net",
        `${REPO_DIR}/lab/cli.ts`,
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
    const failed = summary.tests.filter((t) => t.status === "fail").map((t) => `${t.suite}/${t.name}: ${t.message}`);
    assert.deepEqual(failed, [], "no failing test");
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr).slice(-3000));
    assert.match(
      stdout,
      new RegExp(`^${summary.counts.passed} passed, 0 failed, ${summary.counts.skipped} skipped$`, "m"),
    );
    const suites = new Set(summary.tests.map((t) => t.suite));
    for (const topo of ["pmem", "cxl"]) {
      assert.ok(suites.has(`smoke@${topo}`), `smoke ran on ${topo}`);
      for (const f of ["console.log", "repro.sh"]) await Deno.stat(`${dir}/${topo}/${f}`);
    }
    for (const f of ["index.html", "junit.xml", "summary.json", "smoke_pmem.tap"]) await Deno.stat(`${dir}/${f}`);
    const junit = await Deno.readTextFile(`${dir}/junit.xml`);
    assert.equal((junit.match(/<testcase /g) ?? []).length, summary.tests.length);
  },
});
