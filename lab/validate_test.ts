// Integration: `lab validate` through the CLI on a three-patch series (the first three patches of
// the reference series), the smoke suite on a pmem guest: every prefix built from the previous
// one's build folder, checkpatch per patch, a verdict against the cached reference baseline.
import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";
import { SERIES_DIR } from "./patches.ts";
import type { Verdict } from "./verdict.ts";

Deno.test({
  name: "validate: a three-patch prefix of the reference series builds patch by patch and does not regress smoke",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const series = await Deno.makeTempDir({ prefix: "famfs-lab-three-" });
    try {
      const ref = `${SERIES_DIR}ref`;
      const patches = [...Deno.readDirSync(ref)].map((e) => e.name).filter((n) => n.endsWith(".patch")).sort();
      // series.config keeps the kernel cache keys equal to the reference series' own prefixes.
      for (const f of [...patches.slice(0, 3), "series.config"]) await Deno.copyFile(`${ref}/${f}`, `${series}/${f}`);
      const runId = `tests/validate-${Date.now()}`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [...LAB_CLI, "validate", "--series", series, "--suite", "smoke", "-t", "pmem", "--run-id", runId],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      const dir = `${REPO_DIR}/reports/${runId}`;
      const v = JSON.parse(await Deno.readTextFile(`${dir}/verdict.json`)) as Verdict;
      assert.equal(out.code, 0, stdout + stderr.slice(-3000));
      assert.match(stdout, /^VERDICT OK: every patch builds, nothing regressed against the baseline$/m);
      assert.deepEqual(v.patches.map((p) => [p.index, p.build]), [[1, "built"], [2, "built"], [3, "built"]]);
      for (const p of v.patches.slice(1)) {
        assert.ok(p.cached || p.seededBy === p.index - 1, `prefix ${p.index} started from prefix ${p.index - 1}`);
      }
      assert.ok(v.patches.every((p) => p.checkpatch?.errors === 0), "the reference patches are checkpatch clean");
      assert.deepEqual(v.comparison?.regressions, []);
      assert.equal(v.comparison?.unchanged, 5, "4 smoke tests + the console check, same as the baseline");
      assert.match(v.comparison!.baseline.runId, /^baselines\//);
      const html = await Deno.readTextFile(`${dir}/index.html`);
      assert.match(html, /<section id="verdict" class="ok">/);
    } finally {
      await Deno.remove(series, { recursive: true });
    }
  },
});
