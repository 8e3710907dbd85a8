// The result decision, pure: what a test returned or threw, whether it ran out of time, and the
// kernel reports attributed to it -> its status. A deviation counts only when the kernel's
// profile contract allows it; anything else the test did not expect is a failure.
import type { Outcome } from "./suite.ts";
import { type DeviationId, DEVIATIONS, type ProfileContract } from "./profiles.ts";

export type Status = "pass" | "deviation" | "fail" | "skip";

export interface Attempt {
  outcome?: Outcome | void;
  /** Message of what the test threw. */
  error?: string;
  /** The test's time limit, when it ran out. */
  timedOutAfterMs?: number;
  /** Why the test could not run at all (guest hung or died earlier). */
  notRun?: string;
  /** First lines of the kernel reports attributed to the test. */
  findings: readonly string[];
  expectFindings: boolean;
  /** The contract of the kernel's profile (null: no famfs support). */
  contract: ProfileContract | null;
}

export interface Verdict {
  status: Status;
  message?: string;
  deviation?: DeviationId;
}

export function decide(a: Attempt): Verdict {
  if (a.notRun !== undefined) return { status: "fail", message: a.notRun };
  if (a.timedOutAfterMs !== undefined) {
    return { status: "fail", message: `timed out after ${a.timedOutAfterMs} ms (stopped)` };
  }
  if (a.findings.length > 0 && !a.expectFindings) {
    const reports = `kernel reported during the test: ${a.findings.join("; ")}`;
    return { status: "fail", message: a.error ? `${a.error}\n${reports}` : reports };
  }
  if (a.error !== undefined) return { status: "fail", message: a.error };
  const o = a.outcome;
  if (!o || o.kind === "pass") return { status: "pass" };
  if (o.kind === "skip") return { status: "skip", message: o.reason };
  const id = o.deviation as DeviationId;
  if (!(id in DEVIATIONS)) return { status: "fail", message: `unknown deviation "${o.deviation}": ${o.observed}` };
  if (!a.contract || !a.contract.deviations.includes(id)) {
    return {
      status: "fail",
      message: `${DEVIATIONS[id]} (${o.observed}): not an allowed deviation of profile ${
        a.contract?.profile ?? "none"
      }`,
    };
  }
  return { status: "deviation", deviation: id, message: `${DEVIATIONS[id]}: ${o.observed}` };
}
