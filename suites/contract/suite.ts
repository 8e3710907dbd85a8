// What a conformance suite is: what it needs, its fixtures and its tests. The runner (lab/run.ts)
// owns gating, fixtures, time limits and the verdict; a suite only describes and checks.
// This module depends on nothing in lab/ or src/: suites and the lab depend on it.
import type { ProfileContract, ProfileName } from "./profiles.ts";

export type Flavour = "base" | "debug";
export type DaxKind = "pmem" | "cxl";

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  stdin?: string;
  /** Stops the command (the remote process is killed) when aborted. */
  signal?: AbortSignal;
}

/** A DAX device as the guest set it up. */
export interface GuestDevice {
  /** Topology id of the device. */
  id: string;
  kind: DaxKind;
  /** /dev/daxX.Y */
  path: string;
  bytes: number;
  /** Driver the topology asked for at boot. */
  driver: "device_dax" | "fsdev_dax";
}

/** A DAX device the topology declares (what the guest should have set up). */
export interface DeclaredDevice {
  id: string;
  kind: DaxKind;
  driver: "device_dax" | "fsdev_dax";
  sizeMiB: number;
}

/** A kernel report the lab's console watch saw (Oops, WARNING, KASAN, ...). */
export interface ConsoleFinding {
  kind: string;
  /** The test that was running, "suite/test", or null outside tests. */
  test: string | null;
  firstLine: string;
}

export interface GuestFacts {
  topology: string;
  /** Guests of the topology that map the same memory (1 when absent). */
  hosts?: number;
  declared: readonly DeclaredDevice[];
  devices: readonly GuestDevice[];
  /** Every kernel report on the console since boot. */
  findings(): readonly ConsoleFinding[];
}

/** famfs support of the kernel under test: its profile and how the lab found it. */
export interface FamfsSupport {
  profile: ProfileName;
  /** e.g. "detected from include/uapi/linux/fuse.h of the built tree". */
  how: string;
  contract: ProfileContract;
}

export interface KernelFacts {
  description: string;
  flavour: Flavour;
  /** null: the kernel has no famfs support. */
  famfs: FamfsSupport | null;
}

/** Another guest of a multi-host topology: it maps the same memory devices as the test's own guest. */
export interface Peer {
  /** Its run folder name, e.g. "host-b". */
  host: string;
  /** Runs a shell command in that guest (stopped with the test, like SuiteContext.exec). */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  devices: readonly GuestDevice[];
}

/** What a test sees: the guest, the kernel, where things are, a signal and a recorder. */
export interface SuiteContext {
  /** Runs a shell command in the guest. Aborting `signal` (or the test's) kills it. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  guest: GuestFacts;
  /** The other guests of a multi-host topology (empty on a single host); tests that use them need `hosts`. */
  peers: readonly Peer[];
  kernel: KernelFacts;
  /** The lab checkout, at the same path in the guest (host root over 9p). */
  repo: string;
  /** Deno in the guest. */
  deno: string;
  /** Aborted when the test runs out of time: stop waiting and return. */
  signal: AbortSignal;
  /** Attaches measured facts to this test's result. */
  record(details: Record<string, unknown>): void;
}

/** The famfs support of the kernel; for tests of suites that need famfs (the runner gated them). */
export function famfsOf(ctx: SuiteContext): FamfsSupport {
  if (!ctx.kernel.famfs) throw new Error(`kernel ${ctx.kernel.description} has no famfs support`);
  return ctx.kernel.famfs;
}

/** What a suite or a test needs; the runner decides applicability from it (gate.ts). */
export interface Needs {
  /** The kernel must support famfs. */
  famfs?: boolean;
  /** At least this many DAX devices in the guest. */
  devices?: number;
  /** This kernel flavour (e.g. kmemleak needs "debug"). */
  flavour?: Flavour;
  /** At least this many guests sharing the topology's memory (ctx.peers holds the others). */
  hosts?: number;
}

/** A test's own result; throwing fails the test. */
export type Outcome =
  | { kind: "pass" }
  /** The kernel did what its profile's posted behaviour does and our specification calls a defect. */
  | { kind: "deviation"; deviation: string; observed: string }
  | { kind: "skip"; reason: string };

export const pass: Outcome = { kind: "pass" };
export function skip(reason: string): Outcome {
  return { kind: "skip", reason };
}

/**
 * Per-guest state a suite's tests share, set up by the runner before the suite's first test and
 * torn down after its last (also when a test failed). A test must leave it as it found it.
 */
export interface Fixture<S> {
  setup(ctx: SuiteContext): Promise<S>;
  teardown(ctx: SuiteContext, state: S): Promise<void>;
}

export interface Test<S> {
  name: string;
  needs?: Needs;
  /** Time limit under the guest's accelerator (the runner scales it); default: the guest's hang limit. */
  timeoutMs?: number;
  /** Kernel reports this test provokes on purpose (not held against it). */
  expectFindings?: boolean;
  /** Returns nothing for a pass, an Outcome for a deviation or skip; throws to fail. */
  run(ctx: SuiteContext, state: S): Promise<Outcome | void>;
}

export interface Suite<S = unknown> {
  name: string;
  description: string;
  needs: Needs;
  fixture?: Fixture<S>;
  tests: readonly Test<S>[];
}

/** The context of `ctx`'s test as seen from `peer`: same kernel, repo and signal; the peer's shell and devices. */
export function onPeer(ctx: SuiteContext, peer: Peer): SuiteContext {
  return {
    ...ctx,
    exec: peer.exec,
    guest: { ...ctx.guest, devices: peer.devices },
    peers: [],
  };
}

/** Lets a list of suites with different fixture states be held in one array. */
export function defineSuite<S>(s: Suite<S>): Suite<unknown> {
  return s as unknown as Suite<unknown>;
}

/** A guest command failed: its command line, status and output. */
export class GuestCommandError extends Error {
  constructor(readonly command: string, readonly result: ExecResult) {
    super(
      `guest command failed (exit ${result.code ?? result.signal}): ${command}\n${result.stderr || result.stdout}`
        .trim(),
    );
    this.name = "GuestCommandError";
  }
}

/** Runs a command in the guest and throws GuestCommandError when it fails. */
export async function must(ctx: SuiteContext, command: string, timeoutMs?: number): Promise<string> {
  const r = await ctx.exec(command, { timeoutMs, signal: ctx.signal });
  if (r.code !== 0) throw new GuestCommandError(command, r);
  return r.stdout;
}
