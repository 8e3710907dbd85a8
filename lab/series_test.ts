// Integration: the kernel variants the lab ships besides the reference series (vm-images/series/v3
// and rfc-v2) are built, their profile is read from the built tree, and the GET_DAXDEV suite judges
// them by their profile's contract: every test passes or shows a deviation that contract allows.
import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";
import { CONTRACTS } from "../suites/contract/mod.ts";

for (const series of ["v3", "rfc-v2"] as const) {
  Deno.test({
    name:
      `series ${series}: profile detected from the built tree; smoke and get_daxdev pass or deviate as the ${series} contract allows`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const runId = `tests/series-${series}-${Date.now()}`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          ...LAB_CLI,
          "run",
          "--series",
          series,
          "-t",
          "pmem",
          "--suite",
          "smoke",
          "--suite",
          "get_daxdev",
          "--run-id",
          runId,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dir = `${REPO_DIR}/reports/${runId}`;
      const s = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`)) as RunSummary;
      assert.equal(s.famfs?.profile, series);
      assert.match(s.famfs!.how, /fuse\.h/, "found from the built tree's uapi header");
      const failed = s.tests.filter((t) => t.status === "fail").map((t) => `${t.suite}/${t.name}: ${t.message}`);
      assert.deepEqual(failed, [], `failures on ${series} (reports: ${dir})`);
      const allowed = CONTRACTS[series].deviations as readonly string[];
      for (const t of s.tests.filter((t) => t.status === "deviation")) {
        assert.ok(allowed.includes(t.deviation!), `${t.name}: deviation ${t.deviation} allowed by ${series}`);
      }
      assert.ok(s.counts.passed >= 5, "smoke and the console check pass");
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
    },
  });
}
