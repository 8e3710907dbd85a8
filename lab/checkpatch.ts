// The base tree's scripts/checkpatch.pl --strict on one patch: a pure parser of its output and a
// small runner.
import { $ } from "zx";

export type CheckpatchLevel = "ERROR" | "WARNING" | "CHECK";

export interface CheckpatchItem {
  level: CheckpatchLevel;
  message: string;
  /** "fs/fuse/inode.c:33" when checkpatch names a place in a file. */
  where?: string;
}

export interface CheckpatchResult {
  errors: number;
  warnings: number;
  checks: number;
  /** "N lines checked" of the total line. */
  lines: number;
  items: CheckpatchItem[];
}

export class CheckpatchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpatchError";
  }
}

const TOTAL = /^total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?(\d+) lines checked$/m;

/** Parses `checkpatch.pl --strict` output for one patch. Pure. */
export function parseCheckpatch(output: string): CheckpatchResult {
  const total = TOTAL.exec(output);
  if (!total) throw new CheckpatchError(`checkpatch output has no "total:" line:\n${output.slice(0, 400)}`);
  const items: CheckpatchItem[] = [];
  const lines = output.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^(ERROR|WARNING|CHECK): (.*)$/);
    if (!m) continue;
    const where = lines[i + 1]?.match(/^#\d+: FILE: (\S+?):?$/)?.[1] ?? undefined;
    items.push({ level: m[1] as CheckpatchLevel, message: m[2], ...(where ? { where } : {}) });
  }
  return {
    errors: Number(total[1]),
    warnings: Number(total[2]),
    checks: Number(total[3] ?? 0),
    lines: Number(total[4]),
    items,
  };
}

/** "0 errors, 2 warnings, 1 check" style one-liner. Pure. */
export function checkpatchCounts(r: CheckpatchResult): string {
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? "" : "s"}`;
  return `${n(r.errors, "error")}, ${n(r.warnings, "warning")}, ${n(r.checks, "check")}`;
}

/** Runs `tree`'s checkpatch.pl --strict on one patch text. */
export async function runCheckpatch(tree: string, patchText: string): Promise<CheckpatchResult> {
  const file = await Deno.makeTempFile({ suffix: ".patch" });
  try {
    await Deno.writeTextFile(file, patchText);
    const r = await $({ quiet: true, nothrow: true, cwd: tree })`perl scripts/checkpatch.pl --strict ${file}`;
    return parseCheckpatch(r.stdout + r.stderr);
  } catch (e) {
    if (e instanceof CheckpatchError) throw e;
    throw new CheckpatchError(`checkpatch.pl could not run in ${tree}`, { cause: e });
  } finally {
    await Deno.remove(file);
  }
}
