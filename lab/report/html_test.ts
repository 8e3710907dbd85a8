import assert from "node:assert/strict";
import type { RunSummary } from "./summary.ts";
import { ratiosOf, renderHtml, topologyOf } from "./html.ts";

// A real run's summary (the smoke suite on the default topology, one failing test).
const real = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/smoke-run.summary.json", import.meta.url)),
) as RunSummary;

// Installed by the lab's provisioning (package chromium).
const CHROMIUM = "/usr/bin/chromium";

Deno.test("topologyOf and ratiosOf read the runner's naming", () => {
  assert.equal(topologyOf("smoke@default"), "default");
  assert.deepEqual(
    ratiosOf({
      suite: "t",
      name: "n",
      status: "pass",
      durationMs: 0,
      findings: [],
      details: { mmap_ratio: 0.97, x: 1, bad_ratio: "1" },
    }),
    [["mmap_ratio", 0.97]],
  );
});

Deno.test({
  name: "index.html loads in headless Chromium with the table, failure links and ratio charts",
  async fn() {
    const withRatios: RunSummary = {
      ...real,
      // Fields summaries gained after this capture: the specification, profile and deviations.
      specification: "famfs-lab conformance spec 1",
      famfs: { profile: "v3", how: "detected from include/uapi/linux/fuse.h" },
      notApplicable: [],
      counts: { ...real.counts, deviations: 1 },
      tests: [...real.tests, {
        suite: "get_daxdev@default",
        name: "error-reply",
        status: "deviation",
        deviation: "daxdev-errors-at-io",
        message: "GET_DAXDEV errors surface at I/O (EIO, SIGBUS), not at open: open ok, read EIO",
        durationMs: 1000,
        findings: [],
      }, {
        suite: "throughput@default",
        name: "mmap-seq-read",
        status: "pass",
        durationMs: 1000,
        findings: [],
        details: { famfs_vs_raw_ratio: 0.97, pmd_vs_pte_ratio: 1.4 },
      }],
    };
    const dir = await Deno.makeTempDir({ prefix: "famfs-lab-html-" });
    try {
      await Deno.writeTextFile(`${dir}/index.html`, renderHtml(withRatios));
      const out = await new Deno.Command(CHROMIUM, {
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${dir}/profile`,
          "--dump-dom",
          `file://${dir}/index.html`,
        ],
        stderr: "null",
      }).output();
      const dom = new TextDecoder().decode(out.stdout);
      const failed = real.tests.filter((t) => t.status === "fail");
      assert.equal((dom.match(/<tr class="fail">/g) ?? []).length, failed.length);
      assert.equal((dom.match(/<tr class="(pass|fail|skip|deviation)">/g) ?? []).length, withRatios.tests.length);
      assert.equal((dom.match(/<tr class="deviation">/g) ?? []).length, 1);
      assert.match(dom, /<span id="deviations">1 deviations<\/span>/);
      assert.match(dom, /judged against famfs-lab conformance spec 1 · famfs profile <b>v3<\/b>/);
      assert.equal((dom.match(/class="repro" href="default\/repro.sh"/g) ?? []).length, failed.length);
      assert.match(dom, /class="console" href="default\/console.log"/);
      assert.match(dom, new RegExp(`<span id="failed">${real.counts.failed} failed</span>`));
      assert.equal((dom.match(/<rect class="(met|missed)"/g) ?? []).length, 2);
      assert.match(dom, /famfs_vs_raw_ratio/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
