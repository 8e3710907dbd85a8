// `lab report merge DIR...`: shard report folders of one run -> one report folder (summary.json,
// TAP, JUnit, HTML) as if the run had not been sharded. Merging is pure; reading and copying the
// folders are the edges.
import { exists } from "../cache.ts";
import { cellId, readShardRecord, sameKey, type ShardRecord, writeShardRecord } from "../shard.ts";
import { topologyOf } from "./html.ts";
import type { TestResult } from "./result.ts";
import { buildSummary, type RunSummary } from "./summary.ts";
import { writeRunReports, type WrittenReports } from "./write.ts";

export class MergeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MergeError";
  }
}

export interface ShardFolder {
  dir: string;
  record: ShardRecord;
  /** null: the shard had no test to run, or stopped before its first one. */
  summary: RunSummary | null;
}

export interface Merged {
  summary: RunSummary;
  record: ShardRecord;
}

/** Checks that the folders are every shard of one run, each once; the first problem, in one line. */
export function checkShards(shards: readonly ShardFolder[]): void {
  if (shards.length === 0) throw new MergeError("report merge: give the shard report folders to merge");
  const [first] = shards;
  for (const s of shards.slice(1)) {
    if (s.record.key.lab !== first.record.key.lab) {
      throw new MergeError(
        `report merge: ${s.dir} was run by lab ${s.record.key.lab}, ${first.dir} by lab ${first.record.key.lab}; merge shards of one lab version`,
      );
    }
    if (!sameKey(s.record.key, first.record.key)) {
      const what = s.record.key.kernel !== first.record.key.kernel
        ? `kernel "${s.record.key.kernel}" vs "${first.record.key.kernel}"`
        : `matrix ${s.record.key.matrix.map(cellId).join(",")} vs ${first.record.key.matrix.map(cellId).join(",")}`;
      throw new MergeError(`report merge: ${s.dir} and ${first.dir} are shards of different runs (${what})`);
    }
  }
  const count = first.record.shard.count;
  const seen = new Map<number, string>();
  for (const s of shards) {
    const { index, count: n } = s.record.shard;
    if (n !== count) {
      throw new MergeError(`report merge: ${s.dir} is shard ${index}/${n}, ${first.dir} one of ${count}`);
    }
    const other = seen.get(index);
    if (other) throw new MergeError(`report merge: ${s.dir} and ${other} are both shard ${index}/${count}`);
    seen.set(index, s.dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) {
    throw new MergeError(`report merge: shard ${missing.map((i) => `${i}/${count}`).join(", ")} missing`);
  }
  const ran = shards.flatMap((s) => s.record.cells.map(cellId)).sort();
  if (JSON.stringify(ran) !== JSON.stringify(first.record.key.matrix.map(cellId).sort())) {
    throw new MergeError(
      "report merge: the shards' cells do not add up to the run's matrix (partitioned by different weights?)",
    );
  }
}

/** "nightly-42-shard-2" -> "nightly-42": the run a shard belongs to. */
export function runIdOf(shardRunId: string): string {
  return shardRunId.replace(/[-_.]?shard[-_.]?\d+(?:(?:of|-)\d+)?$/i, "") || shardRunId;
}

// A guest booted by several shards reports its boot results several times: one result with
// the worst status, the messages and findings of all, and the durations summed.
function combine(a: TestResult, b: TestResult): TestResult {
  const rank = { fail: 3, deviation: 2, pass: 1, skip: 0 } as const;
  const message = [a.message, b.message].filter((m) => m !== undefined).join("; ");
  return {
    ...a,
    status: rank[b.status] > rank[a.status] ? b.status : a.status,
    durationMs: a.durationMs + b.durationMs,
    message: message === "" ? undefined : message,
    findings: [...a.findings, ...b.findings],
  };
}

/** The shards as one run: tests in the unsharded run's order (guest, then suite, then test). */
export function mergeShards(shards: readonly ShardFolder[]): Merged {
  checkShards(shards);
  const key = shards[0].record.key;
  const guests = [...new Set(key.matrix.map((c) => c.guest))];
  const suites = [...new Set(key.matrix.map((c) => c.suite))];
  const byId = new Map<string, { t: TestResult; at: number }>();
  let at = 0;
  const ordered = [...shards].sort((a, b) => a.record.shard.index - b.record.shard.index);
  for (const s of ordered) {
    for (const t of s.summary?.tests ?? []) {
      const id = `${t.suite}\0${t.name}`;
      const prev = byId.get(id);
      byId.set(id, prev ? { t: combine(prev.t, t), at: prev.at } : { t, at: at++ });
    }
  }
  // guest-ready comes before a guest's suites, the log outside tests after them.
  const rank = (t: TestResult) =>
    t.suite.startsWith("boot@")
      ? (t.name === "guest-ready" ? -1 : suites.length)
      : suites.indexOf(t.suite.replace(/@[^@]*$/, ""));
  const tests = [...byId.values()].sort((a, b) =>
    guests.indexOf(topologyOf(a.t.suite)) - guests.indexOf(topologyOf(b.t.suite)) ||
    rank(a.t) - rank(b.t) || a.at - b.at
  ).map((x) => x.t);
  const summaries = ordered.map((s) => s.summary).filter((s): s is RunSummary => s !== null);
  const starts = summaries.map((s) => Date.parse(s.startedAt));
  const start = starts.length ? Math.min(...starts) : 0;
  const end = summaries.length ? Math.max(...summaries.map((s) => Date.parse(s.startedAt) + s.wallMs)) : 0;
  return {
    summary: buildSummary({
      runId: runIdOf(summaries[0]?.runId ?? ordered[0].dir.replace(/.*\//, "")),
      kernel: key.kernel,
      topology: guests.join(","),
      startedAt: new Date(start),
      wallMs: end - start,
      // Shards of one run share the kernel, so its specification and profile too.
      specification: summaries[0]?.specification ?? "",
      famfs: summaries[0]?.famfs ?? null,
      notApplicable: summaries[0]?.notApplicable ?? [],
      tests,
    }),
    record: { key, shard: { index: 1, count: 1 }, cells: key.matrix },
  };
}

export async function readShardFolder(dir: string): Promise<ShardFolder> {
  const record = await readShardRecord(dir).catch((e) => {
    throw new MergeError(`report merge: ${dir}/shard.json is not readable JSON`, { cause: e });
  });
  if (!record) throw new MergeError(`report merge: ${dir} has no shard.json (not a folder written by lab run)`);
  const path = `${dir}/summary.json`;
  const summary = await exists(path) ? JSON.parse(await Deno.readTextFile(path)) as RunSummary : null;
  return { dir, record, summary };
}

/**
 * Writes the merged reports into `out`, with each guest's folder (console log, repro.sh):
 * `<out>/<guest>/` when one shard booted that guest, `<out>/<guest>/shard-<I>/` when several did.
 */
export async function mergeReportFolders(dirs: readonly string[], out: string): Promise<WrittenReports> {
  const shards = await Promise.all(dirs.map(readShardFolder));
  const merged = mergeShards(shards);
  await Deno.mkdir(out, { recursive: true });
  const bootedBy = new Map<string, ShardFolder[]>();
  for (const s of shards) {
    for (const g of new Set(s.record.cells.map((c) => c.guest))) {
      if (await exists(`${s.dir}/${g}`)) bootedBy.set(g, [...bootedBy.get(g) ?? [], s]);
    }
  }
  for (const [g, list] of bootedBy) {
    for (const s of list) {
      const to = list.length === 1 ? `${out}/${g}` : `${out}/${g}/shard-${s.record.shard.index}`;
      await copyTree(`${s.dir}/${g}`, to);
    }
  }
  await writeShardRecord(out, merged.record);
  return await writeRunReports(out, merged.summary);
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}
