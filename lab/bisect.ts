// `lab bisect`: the first patch of a series whose kernel fails one test. Prefix kernels are built
// as `lab validate` builds them (each from the longest cached prefix), only the test's suite runs,
// and the answer is verified: the kernel without the patch passes, the one with it fails.
// Searching back from the end suits series whose early prefixes cannot pass yet.
import { REPO_DIR } from "./cache.ts";
import { MUTANT_DIR, readSeries, resolveSeriesPath } from "./patches.ts";
import type { TestResult } from "./report/result.ts";
import { newRunId, type RunRequest, runSuites } from "./run.ts";

export class BisectError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BisectError";
  }
}

/** "SUITE/TEST" or "SUITE@TOPOLOGY/TEST". */
export interface TestSelector {
  suite: string;
  topology?: string;
  name: string;
}

export function parseTestSelector(s: string): TestSelector | null {
  const m = s.match(/^([\w-]+)(?:@([\w-]+))?\/([\w.-]+)$/);
  return m ? { suite: m[1], name: m[3], ...(m[2] ? { topology: m[2] } : {}) } : null;
}

/** The selected test's results in one run (one per guest); "fail" if any guest failed it. Pure. */
export function selectedStatus(sel: TestSelector, results: readonly TestResult[]): TestResult["status"] | null {
  const mine = results.filter((t) =>
    t.name === sel.name && t.suite.split("@")[0] === sel.suite &&
    (sel.topology === undefined || t.suite.split("@")[1] === sel.topology)
  );
  if (mine.length === 0) return null;
  return mine.some((t) => t.status === "fail") ? "fail" : mine.some((t) => t.status === "pass") ? "pass" : "skip";
}

/**
 * The first failing prefix of the last run of failing prefixes, given fails(n): galloping back from the end (n-1,
 * n-2, n-4, ...) to a passing prefix, then binary search. With a test that fails on every prefix from its culprit on,
 * this is the culprit in O(log n) asks; when early prefixes fail for another reason (the feature is not complete yet),
 * it still finds the patch that broke the last passing prefix. Each prefix is asked at most once; the answer k and
 * k-1 are both asked (k-1 = 0, the base, is left to the caller).
 */
export async function firstFailing(n: number, fails: (k: number) => Promise<boolean>): Promise<number> {
  let bad = n, good = 0;
  for (let step = 1; n - step > 0; step *= 2) {
    if (!await fails(n - step)) {
      good = n - step;
      break;
    }
    bad = n - step;
  }
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (await fails(mid)) bad = mid;
    else good = mid;
  }
  return bad;
}

export interface BisectResult {
  /** 1-based index of the first failing patch, null when the test does not fail on the whole series. */
  first: number | null;
  patch?: string;
  /** Run folders of the prefix before the patch (passing) and with it (failing). */
  passingRun?: string;
  failingRun?: string;
  /** Set when the base (no patch of the series) already fails the test. */
  failsWithoutSeries?: boolean;
}

export async function bisectSeries(req: RunRequest, test: string): Promise<BisectResult> {
  const sel = parseTestSelector(test);
  if (!sel) throw new BisectError(`--test ${test}: give SUITE/TEST, e.g. permission_nodev/nodev-mount`);
  const patches = await readSeries(resolveSeriesPath(req.kernel.series ?? "ref"));
  if (req.kernel.mutant) patches.push(...await readSeries(`${MUTANT_DIR}${req.kernel.mutant}.patch`));
  const runId = req.runId ?? newRunId("bisect");
  const runs = new Map<number, { dir: string; status: TestResult["status"] }>();
  const fails = async (k: number): Promise<boolean> => {
    const known = runs.get(k);
    if (known) return known.status === "fail";
    req.log(`bisect: patches 1..${k} of ${patches.length}`);
    const r = await runSuites({
      ...req,
      kernel: { ...req.kernel, firstPatches: k },
      suites: [sel.suite],
      runId: `${runId}/prefix-${k}`,
    });
    const status = selectedStatus(sel, r.results);
    if (status === null) {
      throw new BisectError(
        `--test ${test}: no such test in suite ${sel.suite} (ran: ${
          [...new Set(r.results.map((t) => t.name))].join(", ")
        })`,
      );
    }
    req.log(`bisect: patches 1..${k}: ${test} ${status}`);
    runs.set(k, { dir: r.dir, status });
    return status === "fail";
  };
  if (!await fails(patches.length)) return { first: null };
  const first = await firstFailing(patches.length, fails);
  // The search never asks prefix 0 when the answer is patch 1: verify it here.
  const before = await fails(first - 1);
  const rel = (k: number) => runs.get(k)!.dir.slice(REPO_DIR.length + 1);
  return {
    first,
    patch: `${patches[first - 1].name}: ${patches[first - 1].subject}`,
    passingRun: rel(first - 1),
    failingRun: rel(first),
    ...(before ? { failsWithoutSeries: true } : {}),
  };
}

/** The bisect answer as printed. Pure. */
export function renderBisect(test: string, r: BisectResult): string {
  if (r.first === null) return `bisect: ${test} does not fail on the whole series: nothing to bisect\n`;
  if (r.failsWithoutSeries) {
    return `bisect: ${test} fails without any patch of the series too (run ${r.passingRun}): not caused by the series\n`;
  }
  return [
    `bisect: first failing patch #${r.first}: ${r.patch}`,
    `  passes with patches 1..${r.first - 1}: ${r.passingRun}`,
    `  fails with patches 1..${r.first}:  ${r.failingRun}`,
  ].join("\n") + "\n";
}
