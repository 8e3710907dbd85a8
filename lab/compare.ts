// Two finished runs side by side: which tests regressed or were fixed, which deviations from the
// spec appeared or went away, which kernel reports (by normalized title) are new or gone. Pure.
import { reportTitle } from "./kmsg_title.ts";
import type { TestResult } from "./report/result.ts";
import type { RunSummary } from "./report/summary.ts";

/** A test's status in one run; "missing" when the run has no such test. */
export type SeenStatus = TestResult["status"] | "deviation" | "missing";

export interface TestChange {
  /** "suite@topology/test". */
  id: string;
  from: SeenStatus;
  to: SeenStatus;
  /** The candidate run's message (why it failed or deviates), first line. */
  message?: string;
}

export interface KernelReport {
  title: string;
  /** Test ids the report appeared in ("suite@topology/kernel-log-outside-tests" outside tests). */
  tests: string[];
}

export interface RunRef {
  runId: string;
  kernel: string;
}

export interface Comparison {
  baseline: RunRef;
  candidate: RunRef;
  regressions: TestChange[];
  fixes: TestChange[];
  deviationsNew: TestChange[];
  deviationsGone: TestChange[];
  /** Status changes that are neither (pass -> skip, skip -> pass, a new passing test...). */
  otherChanges: TestChange[];
  reportsNew: KernelReport[];
  reportsGone: KernelReport[];
  unchanged: number;
}

const testId = (t: Pick<TestResult, "suite" | "name">) => `${t.suite}/${t.name}`;

function statusOf(t: TestResult | undefined): SeenStatus {
  return t ? t.status as SeenStatus : "missing";
}

/** A change counts as a regression when the candidate fails where the baseline did not, or loses a passing test. */
export function isRegression(from: SeenStatus, to: SeenStatus): boolean {
  return (to === "fail" && from !== "fail") || (from === "pass" && to === "missing");
}

function kernelReports(tests: readonly TestResult[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of tests) {
    for (const f of t.findings) {
      const title = reportTitle(f);
      const seen = out.get(title) ?? [];
      if (!seen.includes(testId(t))) seen.push(testId(t));
      out.set(title, seen);
    }
  }
  return out;
}

function firstLine(s: string | undefined): string | undefined {
  return s?.split("\n")[0];
}

/** Compares a candidate run with a baseline run. Pure. */
export function compareRuns(baseline: RunSummary, candidate: RunSummary): Comparison {
  const before = new Map(baseline.tests.map((t) => [testId(t), t]));
  const after = new Map(candidate.tests.map((t) => [testId(t), t]));
  const ids = [...new Set([...before.keys(), ...after.keys()])];
  const c: Comparison = {
    baseline: { runId: baseline.runId, kernel: baseline.kernel },
    candidate: { runId: candidate.runId, kernel: candidate.kernel },
    regressions: [],
    fixes: [],
    deviationsNew: [],
    deviationsGone: [],
    otherChanges: [],
    reportsNew: [],
    reportsGone: [],
    unchanged: 0,
  };
  for (const id of ids) {
    const a = before.get(id), b = after.get(id);
    const from = statusOf(a), to = statusOf(b);
    if (from === to) {
      c.unchanged++;
      continue;
    }
    const message = firstLine(b?.message ?? b?.skipReason);
    const change: TestChange = { id, from, to, ...(message ? { message } : {}) };
    if (isRegression(from, to)) c.regressions.push(change);
    else if (from === "fail" && to === "pass") c.fixes.push(change);
    else if (to === "deviation") c.deviationsNew.push(change);
    else if (from === "deviation") c.deviationsGone.push(change);
    else c.otherChanges.push(change);
  }
  const reportsBefore = kernelReports(baseline.tests), reportsAfter = kernelReports(candidate.tests);
  for (const [title, tests] of reportsAfter) if (!reportsBefore.has(title)) c.reportsNew.push({ title, tests });
  for (const [title, tests] of reportsBefore) if (!reportsAfter.has(title)) c.reportsGone.push({ title, tests });
  return c;
}

/** True when the candidate is no worse: no regression and no new kernel report. Pure. */
export function noWorse(c: Comparison): boolean {
  return c.regressions.length === 0 && c.reportsNew.length === 0;
}

function changeLines(title: string, changes: readonly TestChange[]): string[] {
  if (changes.length === 0) return [];
  return [
    `${title} (${changes.length}):`,
    ...changes.map((ch) => `  ${ch.id}: ${ch.from} -> ${ch.to}${ch.message ? `  (${ch.message})` : ""}`),
  ];
}

function reportLines(title: string, reports: readonly KernelReport[]): string[] {
  if (reports.length === 0) return [];
  return [`${title} (${reports.length}):`, ...reports.map((r) => `  ${r.title}  [${r.tests.join(", ")}]`)];
}

/** The comparison as text for a terminal. Pure. */
export function renderComparison(c: Comparison): string {
  const lines = [
    `baseline:  ${c.baseline.runId} (${c.baseline.kernel})`,
    `candidate: ${c.candidate.runId} (${c.candidate.kernel})`,
    ...changeLines("REGRESSIONS", c.regressions),
    ...changeLines("fixed", c.fixes),
    ...changeLines("deviations new", c.deviationsNew),
    ...changeLines("deviations gone", c.deviationsGone),
    ...changeLines("other changes", c.otherChanges),
    ...reportLines("KERNEL REPORTS NEW", c.reportsNew),
    ...reportLines("kernel reports gone", c.reportsGone),
    `${c.regressions.length} regressed, ${c.fixes.length} fixed, ${c.deviationsNew.length} deviations new, ` +
    `${c.deviationsGone.length} gone, ${c.reportsNew.length} kernel reports new, ${c.reportsGone.length} gone, ` +
    `${c.unchanged} unchanged`,
  ];
  return lines.join("\n") + "\n";
}

export class RunFolderError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RunFolderError";
  }
}

/** Reads `<dir>/summary.json` of a finished run. */
export async function readRunSummary(dir: string): Promise<RunSummary> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/summary.json`);
  } catch (e) {
    throw new RunFolderError(`${dir}: no summary.json (give a run folder under reports/)`, { cause: e });
  }
  try {
    return JSON.parse(text) as RunSummary;
  } catch (e) {
    throw new RunFolderError(`${dir}/summary.json: not valid JSON`, { cause: e });
  }
}
