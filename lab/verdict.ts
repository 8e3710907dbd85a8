// The one answer `lab validate` gives about a series: did every patch build on its own, what does
// checkpatch say per patch, and what got worse or better against the baseline run. Pure.
import { checkpatchCounts, type CheckpatchResult } from "./checkpatch.ts";
import { type Comparison, noWorse, renderComparison } from "./compare.ts";

export type BuildOutcome = "built" | "failed";

export interface PatchRow {
  /** 1-based position in the series: the kernel of this row is patches 1..index. */
  index: number;
  name: string;
  subject: string;
  build: BuildOutcome;
  buildMs: number;
  /** Found in the kernel cache, not built now. */
  cached: boolean;
  /** The build started from the cached build folder of the first `seededBy` patches. */
  seededBy?: number;
  /** First lines of the apply or build error. */
  error?: string;
  checkpatch: CheckpatchResult | null;
  checkpatchError?: string;
}

export interface Verdict {
  series: string;
  /** The tree the series was applied to: "debian 7.3.4-1~bpo13+1" or "tree /src/linux at 1a2b3c". */
  base: string;
  /** The series' `base-commit:` line, if any, and what we could say about it. */
  baseCommit: string | null;
  baseNote?: string;
  patches: PatchRow[];
  /** Null when the whole series did not build, so no suite ran. */
  comparison: Comparison | null;
  ok: boolean;
}

export interface BuildSavings {
  /** Prefix kernels built now (not cache hits). */
  built: number;
  totalMs: number;
  /** The one build made from an untouched tree, when there was one: the cost of a build without reuse. */
  fromScratchMs: number | null;
}

/** What building every prefix cost, against building each from an untouched tree. Pure. */
export function buildSavings(rows: readonly PatchRow[]): BuildSavings {
  const built = rows.filter((r) => r.build === "built" && !r.cached);
  const scratch = built.find((r) => r.seededBy === undefined);
  return {
    built: built.length,
    totalMs: built.reduce((s, r) => s + r.buildMs, 0),
    fromScratchMs: scratch ? scratch.buildMs : null,
  };
}

export function makeVerdict(v: Omit<Verdict, "ok">): Verdict {
  const allBuilt = v.patches.every((p) => p.build === "built");
  return { ...v, ok: allBuilt && v.comparison !== null && noWorse(v.comparison) };
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

function buildCell(r: PatchRow): string {
  if (r.build === "failed") return "FAILED";
  if (r.cached) return "built (cached)";
  return `built ${secs(r.buildMs)}${r.seededBy ? ` from #${r.seededBy}` : ""}`;
}

function checkpatchCell(r: PatchRow): string {
  if (!r.checkpatch) return `not run${r.checkpatchError ? `: ${r.checkpatchError}` : ""}`;
  return checkpatchCounts(r.checkpatch);
}

/** The verdict's headline: OK or what went wrong, counted. Pure. */
export function headline(v: Verdict): string {
  if (v.ok) return "OK: every patch builds, nothing regressed against the baseline";
  const why: string[] = [];
  const failed = v.patches.filter((p) => p.build === "failed").map((p) => `#${p.index}`);
  if (failed.length) why.push(`patch ${failed.join(", ")} did not build`);
  if (!v.comparison) why.push("no suite ran (the whole series did not build)");
  else {
    if (v.comparison.regressions.length) why.push(`${v.comparison.regressions.length} test(s) regressed`);
    if (v.comparison.reportsNew.length) why.push(`${v.comparison.reportsNew.length} new kernel report(s)`);
  }
  return `NOT OK: ${why.join("; ")}`;
}

/** The per-patch table as aligned text rows. Pure. */
export function patchTable(rows: readonly PatchRow[]): string[] {
  const cells = rows.map((r) => [`${r.index}`, r.name, buildCell(r), checkpatchCell(r)]);
  const head = ["#", "patch", "build (prefix 1..#)", "checkpatch --strict"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), ...cells.map(line), ...rows.filter((r) => r.error).map((r) => `  #${r.index}: ${r.error}`)];
}

/** The verdict as printed at the end of `lab validate`. Pure. */
export function renderVerdict(v: Verdict): string {
  const s = buildSavings(v.patches);
  const savings = s.built === 0
    ? "prefix builds: all cached"
    : `prefix builds: ${s.built} built in ${secs(s.totalMs)}` +
      (s.fromScratchMs !== null && s.built > 1
        ? `; ${s.built} builds from an untouched tree would take about ${secs(s.fromScratchMs * s.built)}`
        : "");
  return [
    `VERDICT ${headline(v)}`,
    `series: ${v.series} (${v.patches.length} patches) on ${v.base}`,
    ...(v.baseCommit ? [`base-commit: ${v.baseCommit}${v.baseNote ? ` (${v.baseNote})` : ""}`] : []),
    "",
    ...patchTable(v.patches),
    savings,
    "",
    v.comparison ? renderComparison(v.comparison).trimEnd() : "suites: not run",
  ].join("\n") + "\n";
}
