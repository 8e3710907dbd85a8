// Host-side helpers shared by the permission_nodev, teardown and throughput suites: famfs daemon sessions in the
// guest (shell over SSH) and the guest-side probe (probe.ts). Kept here until suites/lib offers the same.
import { must, type SuiteContext } from "../../src/suite.ts";
import type { ProbeOp, ProbeResult } from "./probe_ops.ts";

/** Single-quotes a string for the guest shell. */
export function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function famfsCli(ctx: SuiteContext): string {
  // -A: the tools stat /dev and read /sys, which Deno refuses without --allow-all.
  return `${ctx.deno} run -A ${ctx.repo}/src/famfs/cli.ts`;
}

/** The device the famfs suites use: the first DAX device of the topology. */
export function famfsDevice(ctx: SuiteContext): { path: string; dax: string; bytes: number } {
  const d = ctx.devices[0];
  if (!d) throw new Error("topology has no DAX device");
  return { path: d.path, dax: d.path.replace("/dev/", ""), bytes: d.bytes };
}

export async function bindDax(ctx: SuiteContext, dax: string, driver: "fsdev_dax" | "device_dax"): Promise<void> {
  await must(ctx, `. ${ctx.repo}/vm-images/guest/dax.sh; bind_dax ${dax} ${driver}`, 30_000);
}

export async function daxDriver(ctx: SuiteContext, dax: string): Promise<string> {
  return (await must(ctx, `basename "$(readlink -f /sys/bus/dax/devices/${dax}/driver)"`)).trim();
}

export interface Daemon {
  pid: number;
  mnt: string;
  log: string;
}

export interface DaemonOptions {
  /** Scenario rules (written to a JSON file next to the log). */
  scenario?: unknown[];
  requestLog?: string;
  /** Command prefix, e.g. a setpriv invocation dropping capabilities. */
  wrap?: string;
}

/** Starts `famfs mount` in the background (own session) and waits for "famfs: ready". */
export async function startDaemon(
  ctx: SuiteContext,
  dev: string,
  mnt: string,
  opts: DaemonOptions = {},
): Promise<Daemon> {
  const base = `/run/lab/famfs-${mnt.replaceAll("/", "_")}`;
  const log = `${base}.log`;
  const args = [`--profile ref`];
  if (opts.scenario) {
    const w = await ctx.exec(`cat > ${base}.scenario.json`, { stdin: JSON.stringify({ rules: opts.scenario }) });
    if (w.code !== 0) throw new Error(`cannot write ${base}.scenario.json: ${w.stderr}`);
    args.push(`--scenario ${base}.scenario.json`);
  }
  if (opts.requestLog) args.push(`--request-log ${opts.requestLog}`);
  const cmd = `${opts.wrap ?? ""} ${famfsCli(ctx)} mount ${dev} ${mnt} ${args.join(" ")}`;
  const out = await must(
    ctx,
    `mkdir -p ${mnt} && rm -f ${log} && (setsid ${cmd} > ${log} 2>&1 < /dev/null & echo $! > ${base}.pid) && ` +
      `p=$(cat ${base}.pid); for i in $(seq 6000); do grep -q 'famfs: ready' ${log} && { echo $p; exit 0; }; ` +
      `kill -0 $p 2>/dev/null || break; sleep 0.1; done; echo "daemon not ready:"; cat ${log}; kill -9 $p 2>/dev/null; exit 1`,
    620_000,
  );
  return { pid: Number(out.trim().split("\n").pop()), mnt, log };
}

/** Sends `signal`, waits up to `timeoutMs` for the process to go; true when it exited in time. */
export async function signalDaemon(
  ctx: SuiteContext,
  d: Daemon,
  signal: "TERM" | "KILL",
  timeoutMs = 30_000,
): Promise<boolean> {
  const r = await ctx.exec(
    `kill -${signal} ${d.pid}; for i in $(seq ${Math.ceil(timeoutMs / 100)}); do ` +
      `kill -0 ${d.pid} 2>/dev/null || exit 0; sleep 0.1; done; exit 1`,
    { timeoutMs: timeoutMs + 10_000 },
  );
  return r.code === 0;
}

/** Stops a daemon cleanly (SIGTERM: it unmounts) and checks the mount is gone. */
export async function stopDaemon(ctx: SuiteContext, d: Daemon): Promise<void> {
  if (!(await signalDaemon(ctx, d, "TERM"))) {
    await ctx.exec(`kill -9 ${d.pid}; umount -l ${d.mnt}`);
    throw new Error(`famfs daemon ${d.pid} did not exit within 30 s of SIGTERM`);
  }
  await must(ctx, `! grep -q ' ${d.mnt} ' /proc/mounts`);
}

/** Best-effort cleanup for finally blocks: kill the daemon, detach its mount. */
export async function killDaemon(ctx: SuiteContext, d: Daemon | undefined): Promise<void> {
  if (!d) return;
  await ctx.exec(
    `kill -9 ${d.pid} 2>/dev/null; for i in $(seq 100); do kill -0 ${d.pid} 2>/dev/null || break; sleep 0.1; done; ` +
      `grep -q ' ${d.mnt} ' /proc/mounts && umount -l ${d.mnt}; true`,
    { timeoutMs: 30_000 },
  );
}

export interface SeededFile {
  /** Path relative to the mount. */
  rel: string;
  size: number;
  seed: number;
}

/** mkfs on the device (bound to fsdev_dax), then creates the files with a plain daemon and stops it. */
export async function prepareFs(ctx: SuiteContext, mnt: string, files: SeededFile[]): Promise<void> {
  const { dax, path } = famfsDevice(ctx);
  // mkfs writes the superblock and log through a raw mapping: device_dax mode; the daemon needs fsdev_dax.
  await bindDax(ctx, dax, "device_dax");
  await must(ctx, `${famfsCli(ctx)} mkfs ${path} --force`, 300_000);
  await bindDax(ctx, dax, "fsdev_dax");
  const d = await startDaemon(ctx, path, mnt);
  try {
    const dirs = [...new Set(files.map((f) => f.rel.split("/").slice(0, -1).join("/")).filter((x) => x))];
    const cmds = [
      ...dirs.map((x) => `${famfsCli(ctx)} mkdir ${mnt}/${x}`),
      ...files.map((f) => `${famfsCli(ctx)} creat ${mnt}/${f.rel} --size ${f.size} --seed ${f.seed}`),
    ];
    await must(ctx, cmds.join(" && "), 60_000 * cmds.length);
    await stopDaemon(ctx, d);
  } catch (e) {
    await killDaemon(ctx, d);
    throw e;
  }
}

export function probeCommand(ctx: SuiteContext, ops: ProbeOp[], prefix = ""): string {
  return `${prefix} ${ctx.deno} run --allow-ffi --allow-read ${ctx.repo}/suites/teardown/probe.ts ${
    sq(JSON.stringify(ops))
  }`;
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
  opts: { prefix?: string; timeoutMs?: number } = {},
): Promise<ProbeResult[]> {
  const r = await ctx.exec(probeCommand(ctx, ops, opts.prefix), { timeoutMs: opts.timeoutMs ?? 120_000 });
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

/** Minor number of the mount's superblock = its directory under /sys/fs/fuse/connections. */
export async function fuseConnection(ctx: SuiteContext, mnt: string): Promise<string> {
  const out = await must(ctx, `awk '$5 == "${mnt}" { print $3 }' /proc/self/mountinfo | tail -1`);
  const m = out.trim().match(/^0:(\d+)$/);
  if (!m) throw new Error(`no anonymous device for ${mnt} in mountinfo: "${out.trim()}"`);
  return m[1];
}
