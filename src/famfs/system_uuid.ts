/**
 * This host's famfs system UUID, which decides its role on a filesystem: the host whose UUID is the
 * superblock's ts_system_uuid is the master (it alone appends to the log); every other host is a
 * client that replays the log. Real famfs keeps the UUID as text in /opt/famfs/system_uuid.
 */
import { UsageError } from "./errors.ts";
import type { Superblock } from "./superblock.ts";

export const SYSTEM_UUID_FILE = "/opt/famfs/system_uuid";

export type Role = "master" | "client";

export interface SystemUuid {
  uuid: Uint8Array;
  /** Where it came from (for messages): "option", "$FAMFS_SYSTEM_UUID", a file path. */
  source: string;
}

/** Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (or 32 hex digits) into its 16 bytes, in text order. */
export function parseUuid(text: string, what: string): Uint8Array {
  const t = text.replace(/\0/g, "").trim();
  const hex = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t) ? t.replaceAll("-", "") : t;
  if (!/^[0-9a-f]{32}$/i.test(hex)) {
    throw new UsageError(`${what}: "${t}" is not a UUID (e.g. 3d1219c7-c4c5-404a-aa1f-6d2a48adfda4)`);
  }
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * The system UUID, first found of: `override` (CLI `--system-uuid`, library parameter),
 * $FAMFS_SYSTEM_UUID, `file` (default /opt/famfs/system_uuid), /etc/machine-id. Real famfs
 * creates the file with a random UUID when it is missing; we do not write to the host root
 * (read-only in guests), so the stable machine-id stands in for it.
 */
export function systemUuid(override?: string, file = SYSTEM_UUID_FILE): SystemUuid {
  if (override !== undefined) return { uuid: parseUuid(override, "--system-uuid"), source: "option" };
  const env = Deno.env.get("FAMFS_SYSTEM_UUID");
  if (env) return { uuid: parseUuid(env, "$FAMFS_SYSTEM_UUID"), source: "$FAMFS_SYSTEM_UUID" };
  for (const path of [file, "/etc/machine-id"]) {
    const text = readText(path);
    if (text !== undefined) return { uuid: parseUuid(text, path), source: path };
  }
  return { uuid: new Uint8Array(16), source: "none (no system uuid file, no /etc/machine-id)" };
}

export function roleOf(sb: Superblock, system: Uint8Array): Role {
  return sb.systemUuid.every((x, i) => x === system[i]) ? "master" : "client";
}
