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

/**
 * The permissions of the lab's deno tasks (deno.json; lab/permissions_test.ts keeps them equal).
 * --deny-ffi: ssh2 tries its optional native addon (sshcrypto.node, built by npm where a compiler
 * exists); Deno cannot load it anyway (not a Node-API module), so it is refused without asking and
 * ssh2 takes its pure-JS crypto on every machine. --no-prompt: any permission the lab lacks fails
 * at once, in a terminal as in CI.
 */
export const LAB_PERMISSIONS = [
  "--no-prompt",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
  "--allow-net",
  "--deny-ffi",
];

/** `deno <LAB_CLI...> <command>` runs the lab CLI with the permissions of `deno task lab`. */
export const LAB_CLI = ["run", ...LAB_PERMISSIONS, `${REPO_DIR}/lab/cli.ts`];
