import assert from "node:assert/strict";
import { parseCheckpatch } from "./checkpatch.ts";
import { compareRuns, readRunSummary } from "./compare.ts";
import { renderHtml } from "./report/html.ts";
import { dumpDom } from "./report/dump_dom.ts";
import { buildSavings, makeVerdict, type PatchRow, renderVerdict } from "./verdict.ts";

const compareDir = new URL("./testdata/compare/", import.meta.url).pathname;
const checkpatchOut = (name: string) =>
  parseCheckpatch(Deno.readTextFileSync(new URL(`./testdata/checkpatch/${name}`, import.meta.url)));

const row = (index: number, over: Partial<PatchRow>): PatchRow => ({
  index,
  name: `000${index}-x.patch`,
  subject: `[PATCH ${index}/3] x`,
  build: "built",
  buildMs: 60_000,
  cached: false,
  checkpatch: checkpatchOut("ref-0003-clean.out"),
  ...over,
});

// Build times as measured by validate on the three-patch prefix of the reference series (see the README).
const threeBuilt = [row(1, { buildMs: 300_000 }), row(2, { seededBy: 1 }), row(3, { seededBy: 2 })];

Deno.test("prefix builds: what the reuse cost against builds from an untouched tree", () => {
  assert.deepEqual(buildSavings(threeBuilt), { built: 3, totalMs: 420_000, fromScratchMs: 300_000 });
  assert.deepEqual(buildSavings([row(1, { cached: true }), row(2, { seededBy: 1 })]), {
    built: 1,
    totalMs: 60_000,
    fromScratchMs: null,
  });
});

Deno.test("verdict OK only when every patch built and nothing got worse", async () => {
  const clean = compareRuns(await readRunSummary(`${compareDir}ref`), await readRunSummary(`${compareDir}three`));
  const v = makeVerdict({
    series: "three",
    base: "debian 7.3.4",
    baseCommit: null,
    patches: threeBuilt,
    comparison: clean,
  });
  assert.ok(v.ok);
  const text = renderVerdict(v);
  assert.match(text, /^VERDICT OK: every patch builds, nothing regressed against the baseline$/m);
  assert.match(text, /^2 +0002-x.patch +built 60 s from #1 +0 errors, 0 warnings, 0 checks$/m);
  assert.match(text, /^prefix builds: 3 built in 420 s; 3 builds from an untouched tree would take about 900 s$/m);

  const broken = makeVerdict({
    ...v,
    patches: [
      row(1, {}),
      row(2, { build: "failed", error: "make bzImage failed", checkpatch: checkpatchOut("bad-style.out") }),
      row(3, {}),
    ],
  });
  assert.ok(!broken.ok);
  assert.match(renderVerdict(broken), /^VERDICT NOT OK: patch #2 did not build$/m);
  assert.match(renderVerdict(broken), /^2 +0002-x.patch +FAILED +6 errors, 5 warnings, 3 checks$/m);
  assert.match(renderVerdict(broken), /^ {2}#2: make bzImage failed$/m);
  const notRun = makeVerdict({ ...v, comparison: null });
  assert.match(renderVerdict(notRun), /no suite ran/);
});

Deno.test({
  name: "the run page shows the verdict first: regressions with console and repro links, the per-patch table",
  async fn() {
    const candidate = await readRunSummary(`${compareDir}three-regressed`);
    const c = compareRuns(await readRunSummary(`${compareDir}ref-edited`), candidate);
    const v = makeVerdict({
      series: "three",
      base: "debian 7.3.4",
      baseCommit: null,
      patches: threeBuilt,
      comparison: c,
    });
    const dom = await dumpDom(renderHtml(candidate, undefined, v));
    assert.ok(dom.indexOf('id="verdict"') < dom.indexOf('id="results"'), "verdict before the results table");
    assert.match(
      dom,
      /<section id="verdict" class="notok"><h2>Verdict: NOT OK: 2 test\(s\) regressed; 1 new kernel report\(s\)/,
    );
    const regressions = dom.slice(
      dom.indexOf('id="regressions"'),
      dom.indexOf("</table>", dom.indexOf('id="regressions"')),
    );
    assert.equal((regressions.split("<tbody>")[1].match(/<tr>/g) ?? []).length, 2);
    assert.match(regressions, /href="pmem\/excerpts\/smoke-devdax-mmap-roundtrip.log">console<\/a>/);
    assert.equal((regressions.match(/class="repro" href="pmem\/repro.sh"/g) ?? []).length, 2);
    assert.equal((dom.match(/<tr class="built">/g) ?? []).length, 3);
    assert.match(dom, /<li><code>WARNING in lkdtm_WARNING<\/code> in smoke@pmem\/devdax-mmap-roundtrip<\/li>/);
  },
});
