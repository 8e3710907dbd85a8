// A GET_DAXDEV reply the kernel must refuse, observed two ways and judged against the specification (the open
// fails with the errno) and the posted series' deviation (the open succeeds, I/O fails: EIO, SIGBUS):
// - through a file whose extents name a device index of its own (the probe's read() and mmap() of the file);
// - through the daemon's own bootstrap, for kernels whose fmaps may only name index 0 (which the daemon's opens
//   of its .meta files fill before any other open): a daemon whose first GET_DAXDEV is answered with the fault.
import { errnoName } from "../../src/fuse/libc.ts";
import type { CaseResult, DeviationId, Outcome, SuiteContext } from "../contract/mod.ts";
import { killDaemon, type ScenarioRule, tryStartDaemon } from "./daemon.ts";
import { outcome } from "./probe.ts";
import type { ProbeOp, ProbeResult } from "./probe_ops.ts";

/** The posted series' behaviour our specification calls a defect: GET_DAXDEV errors surface at I/O. */
export const ERRORS_AT_IO: DeviationId = "daxdev-errors-at-io";

/** A refusal judged: pass (the open failed as specified), the deviation, or a failure with its message. */
export type Refusal =
  | { kind: "pass"; observed: string }
  | { kind: "deviation"; deviation: DeviationId; observed: string }
  | { kind: "fail"; message: string };

/** read() and mmap() of a file: the two ways its data could be reached (each opens the file). */
export function accessOps(path: string, len = 8192): ProbeOp[] {
  return [
    { op: "read", path, off: 0, len },
    { op: "mmap", path, prot: "r", mapOff: 0, mapLen: len, off: 0, len },
  ];
}

/**
 * Judges the results of accessOps(): both opens fail with `errno` (pass), or both opens succeed and the read
 * fails with EIO and the mapping access with SIGBUS (the deviation); anything else fails (data reachable, another
 * errno). Callers name the case in front of `observed` and `message`.
 */
export function judgeAccess(errno: string, res: readonly ProbeResult[]): Refusal {
  const got = res.map(outcome);
  if (got.length === 2 && got.every((g) => g === `open:${errno}`)) return { kind: "pass", observed: "error at open" };
  if (got[0] === "read:EIO" && got[1] === "access:SIGBUS") {
    return { kind: "deviation", deviation: ERRORS_AT_IO, observed: "open ok, read EIO, mmap SIGBUS" };
  }
  return { kind: "fail", message: `open() must fail with ${errno}, got ${got.join(", ")}` };
}

/** How a daemon's bootstrap (open and map its .meta files through its mount) ended. */
export type BootstrapEnd =
  | { kind: "ready" }
  | { kind: "open"; errno: string }
  | { kind: "sigbus" }
  | { kind: "other"; output: string };

/** Reads a daemon start's end from its exit code and output (pure). */
export function bootstrapEnd(exitCode: number | null, output: string): BootstrapEnd {
  // The shell that waits for the daemon reports a death by SIGBUS as 128 + 7.
  if (exitCode === 135) return { kind: "sigbus" };
  const m = output.match(/famfs: open failed \(errno (\d+)\)/);
  if (m) return { kind: "open", errno: errnoName(Number(m[1])) };
  return { kind: "other", output: output.trim().split("\n").slice(-3).join(" | ") };
}

/** Judges a bootstrap end like judgeAccess: the open fails with `errno`, or (deviation) the access faults. */
export function judgeBootstrap(errno: string, end: BootstrapEnd): Refusal {
  switch (end.kind) {
    case "open":
      return end.errno === errno
        ? { kind: "pass", observed: "error at the daemon's open of .meta/.superblock" }
        : { kind: "fail", message: `the daemon's open must fail with ${errno}, got ${end.errno}` };
    case "sigbus":
      return {
        kind: "deviation",
        deviation: ERRORS_AT_IO,
        observed: "the daemon's open ok, its mapping access SIGBUS",
      };
    case "ready":
      return { kind: "fail", message: "the daemon read its metadata through the refused device" };
    case "other":
      return { kind: "fail", message: `the daemon's open must fail with ${errno}: ${end.output}` };
  }
}

/** Throws on a failed refusal; returns the deviations among them as one outcome (none: pass). */
export function refusalsOutcome(refusals: ReadonlyArray<readonly [string, Refusal]>): Outcome | void {
  const failed = refusals.flatMap(([what, r]) => r.kind === "fail" ? [`${what}: ${r.message}`] : []);
  if (failed.length > 0) throw new RefusalFailed(failed);
  const devs = refusals.flatMap(([what, r]) => r.kind === "deviation" ? [[what, r] as const] : []);
  if (devs.length > 0) {
    return {
      kind: "deviation",
      deviation: devs[0][1].deviation,
      observed: devs.map(([what, r]) => `${what}: ${r.observed}`).join("; "),
    };
  }
}

/** Refusals that did not behave as the specification says (or as an allowed deviation). */
export class RefusalFailed extends Error {
  constructor(readonly failed: readonly string[]) {
    super(failed.join("\n"));
    this.name = "RefusalFailed";
  }
}

/**
 * Starts a daemon on `dev` at `mnt` whose first GET_DAXDEV (index 0, asked by its own bootstrap) is answered by
 * `rule`, and returns how its bootstrap ended (the daemon is gone afterwards).
 */
export async function bootstrapWith(
  ctx: SuiteContext,
  dev: string,
  mnt: string,
  rule: Omit<ScenarioRule, "op" | "nodeid" | "index">,
  opts: { name?: string; readyTimeoutMs?: number } = {},
): Promise<BootstrapEnd> {
  const r = await tryStartDaemon(ctx, dev, mnt, {
    name: opts.name ?? "daxdev-bootstrap",
    scenario: [{ op: "GET_DAXDEV", index: 0, nodeid: 0, ...rule }],
    readyTimeoutMs: opts.readyTimeoutMs ?? 120_000,
  });
  await killDaemon(ctx, r.daemon);
  return r.ready ? { kind: "ready" } : bootstrapEnd(r.exitCode, r.output);
}

/** A refusal as a case result of a case table. */
export function asCase(name: string, r: Refusal): CaseResult {
  return r.kind === "fail"
    ? { case: name, kind: "fail", message: r.message }
    : r.kind === "pass"
    ? { case: name, kind: "pass", observed: r.observed }
    : { case: name, kind: "deviation", deviation: r.deviation, observed: r.observed };
}
