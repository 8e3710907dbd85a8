// Sharding a run over several machines: the run's matrix (guests x suites), a deterministic
// partition of it balanced by measured duration, and the run key that tells shards of one run
// from shards of another. The partition is pure; reading weights and the lab commit are effects.
import { $ } from "zx";
import { exists, REPO_DIR } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";

export class ShardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ShardError";
  }
}

/** `--shard I/N`: shard I (1-based) of N. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** One cell of the matrix: a suite on a guest (a topology, or kernel/topology with several kernels). */
export interface Cell {
  guest: string;
  suite: string;
}

/** What makes two shard folders parts of the same run. */
export interface RunKey {
  kernel: string;
  /** `git describe --always --dirty` of the lab that ran. */
  lab: string;
  /** The whole (unsharded) matrix, in run order. */
  matrix: Cell[];
}

/** shard.json in a report folder: the run key and the cells this shard ran. */
export interface ShardRecord {
  key: RunKey;
  shard: ShardSpec;
  cells: Cell[];
}

export function parseShardSpec(text: string): ShardSpec {
  const m = text.match(/^(\d+)\/(\d+)$/);
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new ShardError(`--shard ${text}: expected I/N with 1 <= I <= N, e.g. 1/4`);
  }
  return { index, count };
}

export function cellId(c: Cell): string {
  return `${c.suite}@${c.guest}`;
}

/** The matrix in run order: each guest runs its suites in turn. */
export function runMatrix(guests: readonly string[], suites: readonly string[]): Cell[] {
  return guests.flatMap((guest) => suites.map((suite) => ({ guest, suite })));
}

/** Measured cost of each cell and of booting each guest, in ms. */
export interface Weights {
  cells: Map<string, number>;
  boots: Map<string, number>;
}

/** Weights from a finished run's summary: test durations summed per cell, boot time per guest. */
export function weightsFrom(s: RunSummary): Weights {
  const cells = new Map<string, number>(), boots = new Map<string, number>();
  for (const t of s.tests) {
    if (t.suite.startsWith("boot@")) {
      const bootMs = t.details?.bootMs;
      if (typeof bootMs === "number") boots.set(t.suite.slice(5), bootMs);
      continue;
    }
    cells.set(t.suite, (cells.get(t.suite) ?? 0) + t.durationMs);
  }
  return { cells, boots };
}

export const EQUAL_WEIGHTS: Weights = { cells: new Map(), boots: new Map() };

/** Longest-processing-time-first: heaviest item first, each to the least loaded bin (ties: lower bin). */
function lpt<T>(items: readonly T[], bins: number, weight: (t: T) => number): T[][] {
  const order = items.map((t, i) => ({ t, i, w: weight(t) })).sort((a, b) => b.w - a.w || a.i - b.i);
  const out = Array.from({ length: bins }, () => ({ load: 0, items: [] as T[] }));
  for (const { t, w } of order) {
    let best = out[0];
    for (const b of out) if (b.load < best.load) best = b;
    best.load += w;
    best.items.push(t);
  }
  return out.map((b) => b.items);
}

/**
 * Splits the matrix into `count` parts of about equal wall time. A part pays a guest's boot once
 * if it runs any of that guest's cells. Two candidates, the shorter longest part wins (ties: the
 * first): (a) each guest cut into as many pieces as its share of the total calls for, pieces
 * dealt out by LPT, which keeps a guest's cheap cells together; (b) plain LPT over single cells,
 * which wins when boots are cheap. Unmeasured cells weigh the mean of the measured ones (1 when
 * none is). Deterministic, so every shard computes the same partition; each part keeps run order.
 */
export function partition(matrix: readonly Cell[], count: number, w: Weights): Cell[][] {
  const measured = matrix.map((c) => w.cells.get(cellId(c))).filter((v): v is number => v !== undefined);
  const fallback = measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : 1;
  const weight = (i: number) => w.cells.get(cellId(matrix[i])) ?? fallback;
  const boot = (g: string) => w.boots.get(g) ?? 0;
  const guests = [...new Set(matrix.map((c) => c.guest))];
  const cellsOf = (g: string) => matrix.map((c, i) => c.guest === g ? i : -1).filter((i) => i >= 0);
  const sum = (is: number[]) => is.reduce((n, i) => n + weight(i), 0);
  const total = guests.reduce((n, g) => n + boot(g) + sum(cellsOf(g)), 0);
  const target = total / count;
  const pieces = guests.flatMap((g) => {
    const cells = cellsOf(g);
    const n = Math.min(cells.length, Math.max(1, Math.round((boot(g) + sum(cells)) / target)));
    return lpt(cells, n, weight).map((cs) => ({ cells: cs, w: boot(g) + sum(cs) }));
  });
  const byPiece = lpt(pieces, count, (p) => p.w).map((ps) => ps.flatMap((p) => p.cells));
  const byCell = lpt(matrix.map((_, i) => i), count, weight);
  const span = (part: number[]) =>
    sum(part) + [...new Set(part.map((i) => matrix[i].guest))].reduce((n, g) => n + boot(g), 0);
  const longest = (parts: number[][]) => Math.max(...parts.map(span));
  const best = longest(byCell) < longest(byPiece) ? byCell : byPiece;
  return best.map((part) => [...part].sort((a, b) => a - b).map((i) => matrix[i]));
}

/** The cells of one shard; the whole matrix when unsharded. */
export function shardCells(matrix: readonly Cell[], spec: ShardSpec | undefined, w: Weights): Cell[] {
  if (!spec) return [...matrix];
  return partition(matrix, spec.count, w)[spec.index - 1];
}

export function sameKey(a: RunKey, b: RunKey): boolean {
  return a.kernel === b.kernel && a.lab === b.lab &&
    JSON.stringify(a.matrix.map(cellId)) === JSON.stringify(b.matrix.map(cellId));
}

/** The lab's commit, `-dirty` when the worktree has local changes. */
export async function labCommit(): Promise<string> {
  const r = await $({ quiet: true, nothrow: true, cwd: REPO_DIR })`git describe --always --dirty`;
  return r.exitCode === 0 ? r.stdout.trim() : "unknown";
}

export async function readShardRecord(dir: string): Promise<ShardRecord | null> {
  const path = `${dir}/shard.json`;
  if (!await exists(path)) return null;
  return JSON.parse(await Deno.readTextFile(path)) as ShardRecord;
}

export async function writeShardRecord(dir: string, r: ShardRecord): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/shard.json`, JSON.stringify(r, null, 2) + "\n");
}

/** summary.json files below `root` (run ids may hold a slash: reports/tests/main-1/). */
async function summariesBelow(root: string, depth: number): Promise<string[]> {
  if (depth < 0 || !await exists(root)) return [];
  const out: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isFile && e.name === "summary.json") out.push(`${root}/summary.json`);
    if (e.isDirectory) out.push(...await summariesBelow(`${root}/${e.name}`, depth - 1));
  }
  return out;
}

/**
 * The weights a shard partitions by: `--shard-weights FILE` when given, else the newest
 * complete run (unsharded or merged) under `reportsDir`, else equal weights. A shard's own
 * partial summary never counts, so shards started one after another agree.
 */
export async function loadWeights(file: string | undefined, reportsDir: string): Promise<Weights> {
  if (file) {
    try {
      return weightsFrom(JSON.parse(await Deno.readTextFile(file)) as RunSummary);
    } catch (e) {
      throw new ShardError(`--shard-weights ${file}: not a readable summary.json`, { cause: e });
    }
  }
  let newest: { path: string; at: number } | null = null;
  for (const path of await summariesBelow(reportsDir, 3)) {
    const dir = path.slice(0, -"/summary.json".length);
    const rec = await readShardRecord(dir);
    if (rec && rec.shard.count > 1) continue;
    const at = (await Deno.stat(path)).mtime?.getTime() ?? 0;
    if (!newest || at > newest.at) newest = { path, at };
  }
  if (!newest) return EQUAL_WEIGHTS;
  return weightsFrom(JSON.parse(await Deno.readTextFile(newest.path)) as RunSummary);
}

export interface ShardPlanInput {
  kernel: string;
  /** The cells the whole run would run, in run order (runMatrix, less the pairs that cannot run). */
  matrix: Cell[];
  shard?: ShardSpec;
  shardWeights?: string;
  reportsDir: string;
}

/** The runner's hook: this run's cells, recorded with the run key in `<dir>/shard.json`. */
export async function planShard(dir: string, p: ShardPlanInput): Promise<ShardRecord> {
  const matrix = p.matrix;
  const weights = p.shard ? await loadWeights(p.shardWeights, p.reportsDir) : EQUAL_WEIGHTS;
  const record: ShardRecord = {
    key: { kernel: p.kernel, lab: await labCommit(), matrix },
    shard: p.shard ?? { index: 1, count: 1 },
    cells: shardCells(matrix, p.shard, weights),
  };
  await writeShardRecord(dir, record);
  return record;
}

/** The suites (in run order) a shard runs on one guest. */
export function suitesOn<S extends { name: string }>(r: ShardRecord, guest: string, suites: readonly S[]): S[] {
  return suites.filter((s) => r.cells.some((c) => c.guest === guest && c.suite === s.name));
}
