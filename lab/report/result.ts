// The per-test record every emitter in lab/report/ consumes.
import type { Finding } from "../kmsg.ts";

export type TestStatus = "pass" | "deviation" | "fail" | "skip";

export interface TestResult {
  suite: string;
  name: string;
  status: TestStatus;
  durationMs: number;
  message?: string;
  skipReason?: string;
  /** Id of the profile deviation the kernel showed (status "deviation"). */
  deviation?: string;
  /** Kernel reports the console watch attributed to this test. */
  findings: Finding[];
  details?: Record<string, unknown>;
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  deviations: number;
}

export function countResults(tests: readonly TestResult[]): Counts {
  const c: Counts = { passed: 0, failed: 0, skipped: 0, deviations: 0 };
  for (const t of tests) {
    if (t.status === "pass") c.passed++;
    else if (t.status === "fail") c.failed++;
    else if (t.status === "deviation") c.deviations++;
    else c.skipped++;
  }
  return c;
}

/** Results grouped by suite, suites and tests in first-seen order. */
/** The run's one-line count; deviations are counted apart from passes and failures. */
export function countLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped, ${c.deviations} deviations`;
}

/** A run's exit status: 1 when a test failed, or (with --strict) when the kernel deviated. */
export function runExitCode(c: Counts, strict: boolean): 0 | 1 {
  return c.failed === 0 && (!strict || c.deviations === 0) ? 0 : 1;
}

export function groupBySuite(
  tests: readonly TestResult[],
): Map<string, TestResult[]> {
  const bySuite = new Map<string, TestResult[]>();
  for (const t of tests) {
    const list = bySuite.get(t.suite);
    if (list) list.push(t);
    else bySuite.set(t.suite, [t]);
  }
  return bySuite;
}
