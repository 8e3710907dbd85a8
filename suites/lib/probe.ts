// Host side of the guest probe (famfs_probe.ts): run it on a list of operations and read its results, in the
// foreground (restarted after an access that died of SIGBUS) or in the background while a test acts.
import { must, type SuiteContext } from "../contract/mod.ts";
import type { ProbeOp, ProbeResult } from "./probe_ops.ts";
import { sq } from "./shell.ts";

/** Runs the operations as this user instead of root. */
export interface ProbeUser {
  uid: number;
  gid: number;
}

function probeCommand(ctx: SuiteContext, first: number, as?: ProbeUser): string {
  const user = as ? ` --as ${as.uid}:${as.gid}` : "";
  return `${ctx.deno} run -A ${ctx.repo}/suites/lib/famfs_probe.ts ${first}${user}`;
}

/** Parses probe output; a death by SIGBUS (exit 135) marks the access that was under way. */
export function parseProbe(
  stdout: string,
  code: number | null,
  signal: string | null,
): { results: ProbeResult[]; faulted?: number } {
  const lines = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as ProbeResult & { begin?: boolean }
  );
  const results = lines.filter((l) => !l.begin);
  const begun = lines.filter((l) => l.begin).pop();
  if ((code === 135 || signal === "SIGBUS" || signal === "BUS") && begun && !results.some((x) => x.i === begun.i)) {
    results.push({ i: begun.i, op: begun.op, error: "SIGBUS", call: "access" });
    return { results, faulted: begun.i };
  }
  return { results };
}

/**
 * Runs the probe in the guest (one process; restarted after the operation that died of SIGBUS: handles kept by
 * earlier operations are gone then, and report "not-open") and returns one result per operation, in order.
 * `prefix` runs it under another command (e.g. unshare); `as` runs the operations as another user.
 */
export async function runProbe(
  ctx: SuiteContext,
  ops: ProbeOp[],
  opts: { prefix?: string; as?: ProbeUser; timeoutMs?: number } = {},
): Promise<ProbeResult[]> {
  const all: ProbeResult[] = [];
  let first = 0;
  while (first < ops.length) {
    const r = await ctx.exec(
      // `; exit $?`: the shell waits for the probe and reports a SIGBUS death as exit 135 (a probe exec'd in its
      // place dies with a signal that OpenSSH cannot name: it reports "SIG@openssh.com").
      `${opts.prefix ?? ""} ${probeCommand(ctx, first, opts.as)}; exit $?`,
      { stdin: JSON.stringify(ops), timeoutMs: opts.timeoutMs ?? 180_000 },
    );
    const p = parseProbe(r.stdout, r.code, r.signal);
    all.push(...p.results);
    if (p.faulted !== undefined) {
      // The begin line names its op; take it from the list in case a probe op does not.
      const f = p.results.find((x) => x.i === p.faulted);
      if (f) f.op = ops[f.i].op;
      first = p.faulted + 1;
      continue;
    }
    if (r.code !== 0 || p.results.length !== ops.length - first) {
      throw new Error(`probe failed (exit ${r.code ?? r.signal}) after ${all.length} ops: ${r.stderr || r.stdout}`);
    }
    break;
  }
  return all.sort((a, b) => a.i - b.i);
}

/** Starts the probe in the background (not restarted after a SIGBUS); its output and exit code go to `out`. */
export async function startProbe(ctx: SuiteContext, ops: ProbeOp[], out: string): Promise<void> {
  await ctx.exec(`cat > ${out}.ops.json`, { stdin: JSON.stringify(ops) });
  await must(
    ctx,
    `rm -f ${out}; (setsid sh -c ${
      sq(`${probeCommand(ctx, 0)} < ${out}.ops.json > ${out} 2>&1; echo "exit $?" >> ${out}`)
    } < /dev/null > /dev/null 2>&1 &)`,
  );
}

/** Waits until the background probe's output holds at least `results` results, or (omitted) until it exited. */
export async function waitProbe(
  ctx: SuiteContext,
  out: string,
  timeoutMs: number,
  results?: number,
): Promise<{ results: ProbeResult[]; exited: boolean; raw: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const raw = (await ctx.exec(`cat ${out}`)).stdout;
    const exit = raw.match(/^exit (\d+)$/m);
    const res = parseProbe(raw, exit ? Number(exit[1]) : 0, null).results;
    const enough = results === undefined ? !!exit : exit || res.length >= results;
    if (enough || Date.now() > deadline || ctx.signal.aborted) return { results: res, exited: !!exit, raw };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One-line summary of a probe result for assertion messages and records. */
export function outcome(r: ProbeResult): string {
  return r.error
    ? `${r.call ?? r.op}:${r.error}`
    : r.mismatch !== undefined && r.mismatch >= 0
    ? `mismatch@${r.mismatch}`
    : "ok";
}
