// Tests whose cases are a data table: the cases are checked together (one guest probe for all
// of them is much cheaper than one each) and each is judged on its own; the test's outcome
// follows from the cases' (pure: judgeCases).
import type { DeviationId } from "./profiles.ts";
import type { Needs, Outcome, SuiteContext, Test } from "./suite.ts";

export type CaseResult =
  | { case: string; kind: "pass"; observed?: string }
  | { case: string; kind: "deviation"; deviation: DeviationId; observed: string }
  | { case: string; kind: "fail"; message: string }
  | { case: string; kind: "skip"; reason: string };

export class CasesFailed extends Error {
  constructor(readonly failed: readonly CaseResult[]) {
    super(
      failed.map((c) => `${c.case}: ${c.kind === "fail" ? c.message : c.kind}`).join("\n"),
    );
    this.name = "CasesFailed";
  }
}

/** Any failing case fails the test; else any deviation makes it a deviation; all skipped: skip. */
export function judgeCases(results: readonly CaseResult[]): Outcome {
  const failed = results.filter((r) => r.kind === "fail");
  if (failed.length > 0) throw new CasesFailed(failed);
  const dev = results.filter((r) => r.kind === "deviation");
  if (dev.length > 0) {
    const first = dev[0] as Extract<CaseResult, { kind: "deviation" }>;
    return {
      kind: "deviation",
      deviation: first.deviation,
      observed: dev.map((d) => `${d.case}: ${d.kind === "deviation" ? d.observed : ""}`).join("; "),
    };
  }
  if (results.length > 0 && results.every((r) => r.kind === "skip")) {
    return { kind: "skip", reason: results.map((r) => (r.kind === "skip" ? r.reason : "")).join("; ") };
  }
  return { kind: "pass" };
}

export interface CaseTable<S, C extends { name: string }> {
  name: string;
  needs?: Needs;
  timeoutMs?: number;
  expectFindings?: boolean;
  cases: readonly C[];
  /** Checks every case and returns one result per case (in any order). */
  check(ctx: SuiteContext, state: S, cases: readonly C[]): Promise<CaseResult[]>;
}

/** A test made of a case table: records every case's result and judges them with judgeCases. */
export function caseTest<S, C extends { name: string }>(t: CaseTable<S, C>): Test<S> {
  return {
    name: t.name,
    needs: t.needs,
    timeoutMs: t.timeoutMs,
    expectFindings: t.expectFindings,
    async run(ctx, state) {
      const results = await t.check(ctx, state, t.cases);
      ctx.record({ cases: results });
      const missing = t.cases.filter((c) => !results.some((r) => r.case === c.name)).map((c) => c.name);
      if (missing.length > 0) throw new Error(`cases not judged: ${missing.join(", ")}`);
      return judgeCases(results);
    },
  };
}
