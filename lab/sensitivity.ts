// Suite sensitivity: the suites run on the clean reference series and on each mutant of it; a
// mutant is caught when some test fails on it that passed on the clean kernel.
import { MUTANT_DIR } from "./patches.ts";
import type { Flavour } from "./kernel.ts";
import type { TestResult } from "./report/result.ts";
import { REPO_DIR } from "./cache.ts";
import { newRunId, type RunRequest, runSuites } from "./run.ts";
import { SUITES } from "../suites/index.ts";

export interface SensitivityRow {
  mutant: string;
  /** Set when the mutant asks for another kernel flavour than the run's (`Lab-Flavour:` in its message). */
  flavour?: Flavour;
  /** "suite@topology/test" ids that failed on the mutant and passed on the clean series. */
  caughtBy: string[];
  error?: string;
}

export function listMutants(): string[] {
  return [...Deno.readDirSync(MUTANT_DIR)].filter((e) => e.name.endsWith(".patch")).map((e) =>
    e.name.replace(/\.patch$/, "")
  ).sort();
}

/** The kernel flavour a mutant needs to be observable at all (a `Lab-Flavour: debug` line in its message). Pure. */
export function mutantFlavour(patchText: string): Flavour | undefined {
  return patchText.match(/^Lab-Flavour: (base|debug)$/m)?.[1] as Flavour | undefined;
}

const id = (t: TestResult) => `${t.suite}/${t.name}`;

/** Tests failing on the mutant that passed on the clean kernel. Pure. */
export function caughtBy(clean: readonly TestResult[], mutant: readonly TestResult[]): string[] {
  const passedClean = new Set(clean.filter((t) => t.status === "pass").map(id));
  return mutant.filter((t) => t.status === "fail" && passedClean.has(id(t))).map(id);
}

/** The README table: one row per mutant, the suites that caught it. Pure. */
export function renderSensitivity(clean: readonly TestResult[], rows: readonly SensitivityRow[]): string {
  const failedClean = clean.filter((t) => t.status === "fail").map(id);
  const lines = [
    `clean reference series: ${clean.length - failedClean.length}/${clean.length} not failing` +
    (failedClean.length ? ` (failing: ${failedClean.join(", ")})` : ""),
    "",
    "| mutant | caught by suite | first failing test |",
    "|---|---|---|",
    ...rows.map((r) => {
      const suites = [...new Set(r.caughtBy.map((c) => c.split("@")[0]))];
      const kernel = r.flavour ? ` (${r.flavour} kernel)` : "";
      const verdict = r.error ? `not run: ${r.error}` : suites.length ? suites.join(", ") + kernel : "**missed**";
      return `| ${r.mutant} | ${verdict} | ${r.caughtBy[0] ?? ""} |`;
    }),
  ];
  return lines.join("\n") + "\n";
}

/**
 * Runs the suites on the clean series, then each mutant suite by suite (main-job order), stopping at the first suite
 * that catches it. True when the clean series is all green and every mutant is caught.
 */
export async function runSensitivity(req: RunRequest): Promise<boolean> {
  const runId = req.runId ?? newRunId("sensitivity");
  const series = req.kernel.series ?? "ref";
  const base = { ...req, kernel: { ...req.kernel, series, mutant: undefined } };
  const suites = req.suites.length ? req.suites : SUITES.map((s) => s.name);
  const clean = (await runSuites({ ...base, runId: `${runId}/clean` })).results;
  // Clean results of another flavour, run suite by suite only as far as its mutants need.
  const otherClean: TestResult[] = [];
  const cleanOf = async (flavour: Flavour, suite: string): Promise<TestResult[]> => {
    if (flavour === base.kernel.flavour) return clean;
    if (!otherClean.some((t) => t.suite.startsWith(`${suite}@`))) {
      const kernel = { ...base.kernel, flavour };
      const r = await runSuites({ ...base, kernel, suites: [suite], runId: `${runId}/clean-${flavour}/${suite}` });
      otherClean.push(...r.results);
    }
    return otherClean;
  };
  const rows: SensitivityRow[] = [];
  for (const mutant of req.mutants.length ? req.mutants : listMutants()) {
    const flavour = mutantFlavour(await Deno.readTextFile(`${MUTANT_DIR}${mutant}.patch`)) ?? base.kernel.flavour;
    req.log(`sensitivity: mutant ${mutant} (${flavour} kernel)`);
    const row: SensitivityRow = {
      mutant,
      caughtBy: [],
      flavour: flavour === base.kernel.flavour ? undefined : flavour,
    };
    try {
      for (const suite of suites) {
        const reference = await cleanOf(flavour, suite);
        const kernel = { ...base.kernel, flavour, mutant };
        const r = await runSuites({ ...base, kernel, suites: [suite], runId: `${runId}/${mutant}/${suite}` });
        row.caughtBy = caughtBy(reference, r.results);
        if (row.caughtBy.length > 0) break;
      }
    } catch (e) {
      row.error = (e as Error).message.split("\n")[0];
    }
    rows.push(row);
    await Deno.writeTextFile(
      `${REPO_DIR}/reports/${runId}/sensitivity.md`,
      renderSensitivity([...clean, ...otherClean], rows),
    );
  }
  console.log(renderSensitivity([...clean, ...otherClean], rows));
  const green = (ts: TestResult[]) => ts.every((t) => t.status !== "fail");
  return green(clean) && green(otherClean) && rows.every((r) => r.caughtBy.length > 0);
}
