// Case tables checked by one guest probe: each case contributes its probe operations and judges its own slice of
// the results, so a whole table costs one probe run (plus one per SIGBUS) instead of one per case.
import type { CaseResult, SuiteContext } from "../contract/mod.ts";
import { outcome, type ProbeOp, type ProbeResult, runProbe } from "./famfs_guest.ts";

export interface ProbeCase<E> {
  name: string;
  ops(env: E): ProbeOp[];
  /** Judges the results of this case's ops (in order); throwing (e.g. node:assert) fails the case. */
  judge(results: ProbeResult[], env: E): CaseResult | void;
}

/** Runs every case's ops in one probe and judges each case on its own results. */
export async function checkProbeCases<E>(
  ctx: SuiteContext,
  env: E,
  cases: readonly ProbeCase<E>[],
  opts: { timeoutMs?: number } = {},
): Promise<CaseResult[]> {
  const ops: ProbeOp[] = [];
  const spans = cases.map((c) => {
    const own = c.ops(env);
    ops.push(...own);
    return [ops.length - own.length, ops.length] as const;
  });
  const res = await runProbe(ctx, ops, opts);
  return cases.map((c, k) => {
    const mine = res.slice(spans[k][0], spans[k][1]);
    try {
      return c.judge(mine, env) ?? { case: c.name, kind: "pass", observed: mine.map(outcome).join(", ") };
    } catch (e) {
      return { case: c.name, kind: "fail", message: `${(e as Error).message} (got ${mine.map(outcome).join(", ")})` };
    }
  });
}
