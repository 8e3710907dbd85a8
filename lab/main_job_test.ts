// Integration and CI gate: the main job through the CLI, as a user runs it (every suite, pmem and
// CXL guests and two guests sharing memory, the default kernel: our reference series). The
// reference kernel is the known-good baseline, so any failing or deviating conformance test fails
// CI; a skip must be declared below.
import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";
import { countLine } from "./report/result.ts";
import { SUITES } from "../suites/index.ts";

/** The only skips allowed on the default kernel ("suite/test"), with why. */
const DECLARED_SKIPS: Readonly<Record<string, string>> = {
  "teardown/kmemleak-clean-after-teardown": "kmemleak needs the debug flavour; the main job runs the base kernel",
};

Deno.test({
  name: "main job: the reference kernel conforms on pmem, CXL and two hosts (every test passes or is a declared skip)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const runId = `tests/main-${Date.now()}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...LAB_CLI, "run", "--run-id", runId],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const dir = `${REPO_DIR}/reports/${runId}`;
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`)) as RunSummary;
    const stderrTail = new TextDecoder().decode(out.stderr).slice(-3000);

    assert.equal(summary.famfs?.profile, "ref", "the default kernel is judged by the ref profile");
    assert.deepEqual(summary.notApplicable, [], "every suite applies to the default kernel");
    const bad = summary.tests.filter((t) => t.status === "fail" || t.status === "deviation")
      // The whole message (with the assertion's actual/expected): CI keeps no reports folder to look into.
      .map((t) => `${t.suite}/${t.name}: ${t.status}: ${(t.message ?? "").slice(0, 1500)}`);
    assert.deepEqual(bad, [], `conformance failures on the reference kernel (reports: ${dir})`);
    const undeclared = summary.tests.filter((t) => t.status === "skip")
      .map((t) => `${t.suite.replace(/@.*/, "")}/${t.name}`)
      .filter((id) => !(id in DECLARED_SKIPS));
    assert.deepEqual(undeclared, [], "skips not in DECLARED_SKIPS");

    // pmem and cxl run every single-host suite; multihost (two guests on one shared NVDIMM) only the multi-host ones.
    for (const topo of ["pmem", "cxl", "multihost"]) {
      const multi = topo === "multihost";
      for (const suite of SUITES.filter((s) => ((s.needs.hosts ?? 1) > 1) === multi)) {
        const ran = summary.tests.filter((t) => t.suite === `${suite.name}@${topo}` && t.name !== "fixture-teardown")
          .map((t) => t.name);
        assert.deepEqual(ran, suite.tests.map((t) => t.name), `${suite.name} ran its full test list on ${topo}`);
      }
      for (const host of multi ? ["host-a", "host-b"] : [""]) {
        for (const f of ["console.log", "repro.sh"]) await Deno.stat(`${dir}/${topo}/${host}${host && "/"}${f}`);
      }
    }
    assert.equal(out.code, 0, stderrTail);
    assert.match(stdout, new RegExp(`^${countLine(summary.counts)}$`, "m"));
    assert.match(stdout, /^famfs profile ref \(.*\); judged against /m);
    for (const f of ["index.html", "junit.xml", "summary.json", "smoke_pmem.tap"]) await Deno.stat(`${dir}/${f}`);
    const junit = await Deno.readTextFile(`${dir}/junit.xml`);
    assert.equal((junit.match(/<testcase /g) ?? []).length, summary.tests.length);
  },
});
