// Host-side helpers of the permission_nodev, teardown and throughput suites on top of suites/lib: a probe that keeps
// files open and mapped across operations (probe.ts; suites/lib's probe opens and closes per operation), run in the
// background while a test tears the connection down.
import { must, type SuiteContext } from "../../src/suite.ts";
import { famfsDevice, formatWithFiles, type SeededFileSpec, sq } from "../lib/famfs_guest.ts";
import type { ProbeOp, ProbeResult } from "./probe_ops.ts";

export {
  bindDax,
  type Daemon,
  daxDriver,
  famfsCli,
  famfsDevice,
  fuseConnection,
  killDaemon,
  signalDaemon,
  sq,
  startDaemon,
  stopDaemon,
  waitGone,
} from "../lib/famfs_guest.ts";
export type SeededFile = SeededFileSpec;

/** mkfs on the suite's device, creates the files, leaves the device bound to fsdev_dax. */
export async function prepareFs(ctx: SuiteContext, mnt: string, files: SeededFile[]): Promise<void> {
  await formatWithFiles(ctx, famfsDevice(ctx), mnt, files);
}

/** The probe command; `as` runs the operations as another user (the probe drops to it after loading). */
export function probeCommand(ctx: SuiteContext, ops: ProbeOp[], as?: { uid: number; gid: number }): string {
  const user = as ? ` ${as.uid}:${as.gid}` : "";
  return `${ctx.deno} run --allow-ffi --allow-read ${ctx.repo}/suites/teardown/probe.ts ${
    sq(JSON.stringify(ops))
  }${user}`;
}

/** Parses probe output; a death by SIGBUS (exit 135) marks the access that was under way. */
export function parseProbe(stdout: string, code: number | null, signal: string | null): ProbeResult[] {
  const lines = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const done: ProbeResult[] = lines.filter((l) => !l.begin);
  const begun = lines.filter((l) => l.begin).pop();
  if ((code === 135 || signal === "BUS") && begun && !done.some((d) => d.i === begun.i)) {
    done.push({ i: begun.i, op: "touch", error: "SIGBUS" });
  }
  return done;
}

/** Runs the probe in the guest and returns one result per operation that finished (or faulted). */
export async function runProbe(
  ctx: SuiteContext,
  ops: ProbeOp[],
  opts: { as?: { uid: number; gid: number }; timeoutMs?: number } = {},
): Promise<ProbeResult[]> {
  // `; exit $?` keeps a SIGBUS death an exit status (135): OpenSSH has no name for SIGBUS.
  const r = await ctx.exec(`${probeCommand(ctx, ops, opts.as)}; exit $?`, { timeoutMs: opts.timeoutMs ?? 120_000 });
  const res = parseProbe(r.stdout, r.code, r.signal);
  if (r.code !== 0 && !res.some((x) => x.error === "SIGBUS")) {
    throw new Error(`probe failed (exit ${r.code ?? r.signal}): ${r.stderr || r.stdout}`);
  }
  return res;
}

/** Starts the probe in the background; its output and exit code go to `out`. */
export async function startProbe(ctx: SuiteContext, ops: ProbeOp[], out: string): Promise<void> {
  await must(
    ctx,
    `rm -f ${out}; (setsid sh -c ${
      sq(`${probeCommand(ctx, ops)} > ${out} 2>&1; echo "exit $?" >> ${out}`)
    } < /dev/null > /dev/null 2>&1 &)`,
  );
}

/** Waits until the probe's output holds at least `results` results, or (results omitted) until it exited. */
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
    const res = parseProbe(raw, exit ? Number(exit[1]) : 0, null);
    const enough = results === undefined ? !!exit : exit || res.length >= results;
    if (enough || Date.now() > deadline) return { results: res, exited: !!exit, raw };
    await new Promise((r) => setTimeout(r, 500));
  }
}
