// Where the lab keeps what it downloads and builds (never in git).
import { createHash } from "node:crypto";
import { $ } from "zx";

export function cacheDir(): string {
  return Deno.env.get("FAMFS_LAB_CACHE") ??
    `${Deno.env.get("HOME") ?? "/root"}/.cache/famfs-lab`;
}

export const REPO_DIR = new URL("..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);

export function sha256(parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) {
    h.update(p);
    h.update("\0");
  }
  return h.digest("hex");
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The command line of a live process, or null (via ps: Deno guards /proc). */
export async function processArgs(pid: number): Promise<string | null> {
  const r = await $({ quiet: true, nothrow: true })`ps -ww -p ${pid} -o args=`;
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** `deno <LAB_CLI...> <command>` runs the lab CLI with the permissions of `deno task lab`. */
export const LAB_CLI = [
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
  "--allow-net",
  `${REPO_DIR}/lab/cli.ts`,
];
