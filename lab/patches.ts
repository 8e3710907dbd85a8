// Patch series: where they come from (a folder of format-patch files or an mbox) and what a
// failed application means. Pure except for reading the series from disk.
import { basename, resolve } from "node:path";

export interface Patch {
  /** File name, or "<mbox>#N" for the Nth message of an mbox. */
  name: string;
  subject: string;
  text: string;
}

export class PatchApplyError extends Error {
  constructor(
    readonly patch: string,
    readonly file: string,
    readonly line: number | null,
    readonly hunk: string | null,
    readonly gitOutput: string,
  ) {
    super(
      `patch ${patch} does not apply: ${file}${line === null ? "" : ` at line ${line}`}\n` +
        (hunk ? `failing hunk:\n${hunk}\n` : `git apply said:\n${gitOutput}\n`) +
        `Rebase the patch onto the kernel under test, or choose the kernel it was made for (--kernel-src).`,
    );
    this.name = "PatchApplyError";
  }
}

export class SeriesError extends Error {
  constructor(where: string, problem: string) {
    super(`patch series ${where}: ${problem}`);
    this.name = "SeriesError";
  }
}

const FROM_LINE = /^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$/m;

function subjectOf(text: string): string {
  const m = text.match(/^Subject: (.*(?:\n[ \t].*)*)/m);
  return m ? m[1].replace(/\n[ \t]+/g, " ").trim() : "(no subject)";
}

/** Splits a git format-patch mbox into its messages (a single patch file yields one). */
export function splitMbox(text: string, name: string): Patch[] {
  const starts: number[] = [];
  const re = new RegExp(FROM_LINE.source, "gm");
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index);
  if (starts.length === 0) {
    return text.includes("\ndiff --git ") ? [{ name, subject: subjectOf(text), text }] : [];
  }
  return starts.map((s, i) => {
    const chunk = text.slice(s, starts[i + 1] ?? text.length);
    return {
      name: starts.length === 1 ? name : `${name}#${i + 1}`,
      subject: subjectOf(chunk),
      text: chunk,
    };
  });
}

/** The hunk of `patchText` for `file` whose old range covers `line` (git reports its start). */
export function findHunk(
  patchText: string,
  file: string,
  line: number,
): string | null {
  const fileStart = patchText.indexOf(`diff --git a/${file} b/${file}`);
  if (fileStart < 0) return null;
  const rest = patchText.slice(fileStart);
  const nextFile = rest.indexOf("\ndiff --git ", 1);
  const section = nextFile < 0 ? rest : rest.slice(0, nextFile);
  const hunks = section.split(/^(?=@@ )/m).slice(1);
  let best: string | null = null;
  for (const h of hunks) {
    const m = h.match(/^@@ -(\d+)(?:,(\d+))? /);
    if (!m) continue;
    const start = Number(m[1]);
    if (start === line) return h.replace(/\n-- \n[\s\S]*$/, "").trimEnd();
    if (start <= line && line < start + Number(m[2] ?? 1)) best = h.trimEnd();
  }
  return best;
}

/** Turns `git apply` stderr into a PatchApplyError naming the patch, file, line and hunk. */
export function parseGitApplyError(
  patch: Patch,
  stderr: string,
): PatchApplyError {
  const failed = stderr.match(/^error: patch failed: (.+):(\d+)$/m);
  if (failed) {
    const line = Number(failed[2]);
    return new PatchApplyError(
      patch.name,
      failed[1],
      line,
      findHunk(patch.text, failed[1], line),
      stderr.trim(),
    );
  }
  const missing = stderr.match(
    /^error: (.+): (No such file or directory|does not exist in index|already exists.*)$/m,
  );
  if (missing) {
    return new PatchApplyError(
      patch.name,
      missing[1],
      null,
      null,
      stderr.trim(),
    );
  }
  return new PatchApplyError(
    patch.name,
    "(unknown file)",
    null,
    null,
    stderr.trim(),
  );
}

export const SERIES_DIR = new URL("../vm-images/series/", import.meta.url).pathname;
export const MUTANT_DIR = new URL("../vm-images/mutants/", import.meta.url).pathname;

/** Resolves --series: a name under vm-images/series/, a folder of *.patch files, or an mbox. */
export function resolveSeriesPath(series: string): string {
  if (!series.includes("/") && !series.includes(".")) {
    return `${SERIES_DIR}${series}`;
  }
  return series;
}

/** The file in a series folder that names the series whose patches come first. */
export const BASE_FILE = "base";

/**
 * The folder named by a series folder's `base` file (a name under vm-images/series/ or a path
 * relative to the folder), or null when the series stands alone.
 */
export async function seriesBase(folder: string): Promise<string | null> {
  let text: string;
  try {
    text = (await Deno.readTextFile(`${folder}/${BASE_FILE}`)).trim();
  } catch {
    return null;
  }
  if (!text) throw new SeriesError(folder, `${BASE_FILE} file is empty: write the base series' name (e.g. ref)`);
  return text.includes("/") ? resolve(folder, text) : resolveSeriesPath(text);
}

/**
 * Reads a series in application order (folder entries sorted by name, as format-patch numbers them).
 * A folder with a `base` file gets its base series' patches first (names prefixed "<base>/").
 */
export async function readSeries(path: string, seen: string[] = []): Promise<Patch[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new SeriesError(
      path,
      "not found: give a series name from vm-images/series/, a folder of .patch files, or an mbox file",
    );
  }
  if (info.isFile) {
    const patches = splitMbox(await Deno.readTextFile(path), basename(path));
    if (patches.length === 0) {
      throw new SeriesError(path, "contains no patch (no 'diff --git' found)");
    }
    return patches;
  }
  const here = resolve(path);
  if (seen.includes(here)) {
    throw new SeriesError(path, `its ${BASE_FILE} files form a cycle: ${[...seen, here].join(" -> ")}`);
  }
  const basePath = await seriesBase(path);
  const base = basePath === null ? [] : (await readSeries(basePath, [...seen, here])).map((p) => ({
    ...p,
    name: `${basename(basePath)}/${p.name}`,
  }));
  const names = [...Deno.readDirSync(path)].filter((e) => e.isFile && /\.(patch|diff)$/.test(e.name)).map((e) => e.name)
    .sort();
  if (names.length === 0 && base.length === 0) throw new SeriesError(path, "has no *.patch files");
  const out: Patch[] = base;
  for (const n of names) {
    out.push(...splitMbox(await Deno.readTextFile(`${path}/${n}`), n));
  }
  return out;
}

/** The series' own kconfig fragment (series.config beside the patches; a base's is not inherited), if any. */
export function seriesFragment(path: string): string | null {
  try {
    const p = `${path}/series.config`;
    return Deno.statSync(p).isFile ? p : null;
  } catch {
    return null;
  }
}
