// The famfs daemon in the guest: started in the background (own session, log, request log, scenario), stopped
// cleanly or killed (hang-safe), its FUSE connection, and its request log read back.
import { readRequestLog as parseRequestLog, type RequestRecord } from "../../src/famfs/request_log.ts";
import type { ScenarioRule } from "../../src/famfs/scenario.ts";
import { famfsOf, must, type SuiteContext } from "../contract/mod.ts";
import { bindDax } from "./dax.ts";
import { famfsCli, RUN_DIR, sq } from "./shell.ts";

export type { RequestRecord, ScenarioRule };

export interface Daemon {
  /** Names the files in /run/lab: <name>.log, <name>.pid, <name>.requests.jsonl, <name>.scenario.json. */
  name: string;
  pid: number;
  dev: string;
  mnt: string;
  /** stdout+stderr of the daemon. */
  log: string;
  /** Request log (JSONL) when asked for. */
  requestLog?: string;
}

export interface DaemonOptions {
  /** File name stem in /run/lab (default derived from the mount point). */
  name?: string;
  /** Protocol profile (default: the kernel's). */
  profile?: string;
  /** Scenario rules (written to /run/lab/<name>.scenario.json). */
  scenario?: ScenarioRule[];
  /** true: /run/lab/<name>.requests.jsonl; a string: that path. */
  requestLog?: boolean | string;
  /** Command prefix, e.g. a setpriv invocation dropping capabilities. */
  wrap?: string;
  /** Extra arguments of `famfs mount`. */
  args?: string[];
  readyTimeoutMs?: number;
}

/** Outcome of a daemon start: running (ready) or exited before "famfs: ready". */
export type StartResult =
  | { ready: true; daemon: Daemon }
  | { ready: false; exitCode: number | null; output: string; daemon: Daemon };

/**
 * Starts `famfs mount DEV MNT` in the background (setsid, output to /run/lab/<name>.log) and waits until it prints
 * "famfs: ready" or exits. Does not throw when the daemon fails to mount (see startDaemon for that).
 */
export async function tryStartDaemon(
  ctx: SuiteContext,
  dev: string,
  mnt: string,
  opts: DaemonOptions = {},
): Promise<StartResult> {
  const name = opts.name ?? `famfs${mnt.replaceAll("/", "_")}`;
  const base = `${RUN_DIR}/${name}`;
  const log = `${base}.log`;
  const args = [`--profile ${opts.profile ?? famfsOf(ctx).profile}`, ...(opts.args ?? [])];
  if (opts.scenario) {
    const w = await ctx.exec(`cat > ${base}.scenario.json`, { stdin: JSON.stringify({ rules: opts.scenario }) });
    if (w.code !== 0) throw new Error(`cannot write ${base}.scenario.json: ${w.stderr}`);
    args.push(`--scenario ${base}.scenario.json`);
  }
  const requestLog = opts.requestLog === true ? `${base}.requests.jsonl` : opts.requestLog || undefined;
  if (requestLog) args.push(`--request-log ${requestLog}`);
  const cmd = `${opts.wrap ?? ""} ${famfsCli(ctx)} mount ${dev} ${mnt} ${args.join(" ")}`;
  const ticks = Math.ceil((opts.readyTimeoutMs ?? 600_000) / 100);
  const r = await ctx.exec(
    // The pid file holds the daemon's own pid (signals go to it, not to the shell that waits for its exit code).
    `mkdir -p ${mnt} && rm -f ${log} ${base}.exit ${base}.pid ${requestLog ?? ""} && ` +
      `(setsid sh -c ${sq(`${cmd} & echo $! > ${base}.pid; wait $!; echo $? > ${base}.exit`)} > ${log} 2>&1 ` +
      `< /dev/null &) && for i in $(seq 100); do test -s ${base}.pid && break; sleep 0.05; done && ` +
      `p=$(cat ${base}.pid); for i in $(seq ${ticks}); do grep -q 'famfs: ready' ${log} && { echo "ready $p"; exit 0; }; ` +
      `test -e ${base}.exit && break; sleep 0.1; done; ` +
      `if test -e ${base}.exit; then echo "exited $p $(cat ${base}.exit)"; else kill -9 $p; echo "timeout $p"; fi; cat ${log}`,
    { timeoutMs: (opts.readyTimeoutMs ?? 600_000) + 20_000 },
  );
  const m = r.stdout.match(/^(ready|exited|timeout) (\d+)(?: (\d+))?$/m);
  if (!m) throw new Error(`cannot start the famfs daemon (exit ${r.code}): ${r.stderr || r.stdout}`);
  const daemon: Daemon = { name, pid: Number(m[2]), dev, mnt, log, requestLog };
  if (m[1] === "ready") return { ready: true, daemon };
  const output = r.stdout.slice(r.stdout.indexOf("\n") + 1);
  return { ready: false, exitCode: m[3] === undefined ? null : Number(m[3]), output, daemon };
}

/** Starts the daemon and waits for "famfs: ready"; throws with its output when it does not get there. */
export async function startDaemon(
  ctx: SuiteContext,
  dev: string,
  mnt: string,
  opts: DaemonOptions = {},
): Promise<Daemon> {
  const r = await tryStartDaemon(ctx, dev, mnt, opts);
  if (r.ready) return r.daemon;
  await killDaemon(ctx, r.daemon);
  throw new Error(`famfs daemon on ${mnt} not ready (exit ${r.exitCode ?? "none: timeout"}): ${r.output.trim()}`);
}

/** Waits (by time, not by loop count: shell loops are slow under TCG) until `pid` is gone; true when it went. */
export async function waitGone(ctx: SuiteContext, pid: number, seconds: number): Promise<boolean> {
  const r = await ctx.exec(`timeout ${seconds} tail --pid=${pid} -f /dev/null`, { timeoutMs: seconds * 1000 + 30_000 });
  return r.code === 0;
}

/** Sends `signal` and waits up to `timeoutMs`; true when the process exited in time. */
export async function signalDaemon(
  ctx: SuiteContext,
  d: Daemon,
  signal: "TERM" | "KILL",
  timeoutMs = 30_000,
): Promise<boolean> {
  await ctx.exec(`kill -${signal} ${d.pid} 2>/dev/null; true`);
  return await waitGone(ctx, d.pid, Math.ceil(timeoutMs / 1000));
}

/**
 * Cleanup for finally blocks: SIGKILL; a daemon that does not die (stuck in a request to its own mount) is freed
 * by aborting its connection; then the mount is detached.
 */
export async function killDaemon(ctx: SuiteContext, d: Daemon | undefined): Promise<void> {
  if (!d) return;
  const conn = await fuseConnection(ctx, d.mnt).catch(() => undefined);
  if (await signalDaemon(ctx, d, "KILL", 10_000)) {
    await ctx.exec(`grep -q ' ${d.mnt} ' /proc/mounts && umount -l ${d.mnt}; true`);
    return;
  }
  if (conn) await ctx.exec(`echo 1 > /sys/fs/fuse/connections/${conn}/abort`);
  await waitGone(ctx, d.pid, 20);
  await ctx.exec(`grep -q ' ${d.mnt} ' /proc/mounts && umount -l ${d.mnt}; true`);
}

/**
 * Stops a daemon cleanly (SIGTERM: it unmounts and exits), checks the mount is gone, and optionally rebinds the
 * device (e.g. to device_dax for raw checks). Throws when the daemon hangs or leaves the mount behind.
 */
export async function stopDaemon(
  ctx: SuiteContext,
  d: Daemon,
  opts: { rebind?: { dax: string; driver: "fsdev_dax" | "device_dax" } } = {},
): Promise<void> {
  if (!(await signalDaemon(ctx, d, "TERM"))) {
    await killDaemon(ctx, d);
    throw new Error(`famfs daemon ${d.pid} did not exit within 30 s of SIGTERM`);
  }
  const mounted = await ctx.exec(`grep -q ' ${d.mnt} ' /proc/mounts`);
  if (mounted.code === 0) {
    await ctx.exec(`umount -l ${d.mnt}`);
    throw new Error(`${d.mnt} still mounted after the daemon exited`);
  }
  if (opts.rebind) await bindDax(ctx, opts.rebind.dax, opts.rebind.driver);
}

/** Minor number of the mount's superblock = its directory under /sys/fs/fuse/connections. */
export async function fuseConnection(ctx: SuiteContext, mnt: string): Promise<string> {
  const out = await must(ctx, `awk '$5 == "${mnt}" { print $3 }' /proc/self/mountinfo | tail -1`);
  const m = out.trim().match(/^0:(\d+)$/);
  if (!m) throw new Error(`no anonymous device for ${mnt} in mountinfo: "${out.trim()}"`);
  return m[1];
}

/** The daemon's request log, parsed (empty when it logged nothing yet). */
export async function readRequests(ctx: SuiteContext, d: Daemon): Promise<RequestRecord[]> {
  if (!d.requestLog) throw new Error(`daemon ${d.name} was started without a request log`);
  return parseRequestLog(await must(ctx, `cat ${d.requestLog} 2>/dev/null; true`));
}

/** Requests of one op (GET_FMAP, GET_DAXDEV, OPEN, ...), optionally only those after the first `skip` records. */
export function requestsOf(log: RequestRecord[], op: string, skip = 0): RequestRecord[] {
  return log.slice(skip).filter((r) => r.op === op);
}
