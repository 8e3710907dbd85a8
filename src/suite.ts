// What a conformance suite is, shared by the lab's runner and the suites in suites/.
import type { GuestDevice } from "../lab/guest_setup.ts";
import type { ExecResult } from "../lab/ssh.ts";
import type { Topology } from "../lab/topology.ts";

/** The guest as a test sees it: commands over SSH, its DAX devices, its kernel. */
export interface SuiteContext {
  exec(
    command: string,
    opts?: { timeoutMs?: number; stdin?: string },
  ): Promise<ExecResult>;
  devices: GuestDevice[];
  topology: Topology;
  /** Human description of the kernel under test (source, series, mutant, flavour). */
  kernel: string;
  /** The famfs protocol profile of the kernel under test, null for a stock kernel. */
  profile: "rfc-v2" | "v3" | "ref" | null;
  /** The lab checkout, at the same path in the guest (host root over 9p). */
  repo: string;
  /** Deno in the guest (from the checkout's node_modules). */
  deno: string;
  /** Attaches measured facts to this test's result (JSON summary). */
  record(details: Record<string, unknown>): void;
}

export interface Skip {
  skip: string;
}

export interface SuiteTest {
  name: string;
  /** Throws (e.g. node:assert) to fail; returns { skip: reason } to skip. */
  run(ctx: SuiteContext): Promise<void | Skip>;
  timeoutMs?: number;
  /** Kernel reports this test provokes on purpose (not counted against it). */
  expectFindings?: boolean;
}

export interface Suite {
  name: string;
  description: string;
  tests: SuiteTest[];
}

/** Runs a command in the guest and throws with its output when it fails. */
export async function must(
  ctx: SuiteContext,
  command: string,
  timeoutMs?: number,
): Promise<string> {
  const r = await ctx.exec(command, { timeoutMs });
  if (r.code !== 0) {
    throw new Error(
      `guest command failed (exit ${r.code ?? r.signal}): ${command}\n${r.stderr || r.stdout}`.trim(),
    );
  }
  return r.stdout;
}
