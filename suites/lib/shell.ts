// Guest shell basics of the famfs suites: where their files go, quoting, the famfs CLI command.
import type { SuiteContext } from "../contract/mod.ts";

export const RUN_DIR = "/run/lab";

/** Single-quotes a string for the guest shell. */
export function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The famfs CLI in the guest. -A: the tools stat /dev and read /sys, which Deno refuses otherwise. */
export function famfsCli(ctx: SuiteContext): string {
  return `${ctx.deno} run -A ${ctx.repo}/src/famfs/cli.ts`;
}
