// The nightly commands of the CLI: `lab report merge|kcidb` and `lab history [add]`. Wiring only.
import { REPO_DIR } from "./cache.ts";
import { defaultHistoryDir, readIndex, recordRun, writeHistory } from "./history.ts";
import type { LabOptions } from "./options.ts";
import { UsageError } from "./options.ts";
import { toKcidb } from "./report/kcidb.ts";
import { mergeReportFolders, mergeShards, readShardFolder } from "./report/merge.ts";
import type { RunSummary } from "./report/summary.ts";
import { readShardRecord } from "./shard.ts";

export const NIGHTLY_HELP =
  `  report merge DIR...  merge shard report folders (lab run --shard I/N) into reports/<run-id>
  report kcidb DIR     write DIR/kcidb.json, the run as KernelCI KCIDB v4 (--origin, --base-url)
  history [add DIR]    add a finished run to the history (--history DIR, default
             ~/.cache/famfs-lab/history), exit 1 on a regression against the previous
             night; without add, render the trend page again`;

export async function cmdReport(o: LabOptions, log: (l: string) => void): Promise<number> {
  const [sub, ...dirs] = o.rest;
  if (sub === "merge") {
    if (dirs.length === 0) throw new UsageError("report merge needs the shard report folders, e.g. reports/n1-shard-*");
    const runId = o.runId ?? mergeShards(await Promise.all(dirs.map(readShardFolder))).summary.runId;
    const out = `${REPO_DIR}/reports/${runId}`;
    if (dirs.some((d) => d.replace(/\/+$/, "") === out)) {
      throw new UsageError(`report merge: ${out} is one of the shards; give --run-id for the merged folder`);
    }
    const w = await mergeReportFolders(dirs, out);
    const s = JSON.parse(await Deno.readTextFile(w.summary)) as RunSummary;
    log(`merged ${dirs.length} shard(s) into ${out}`);
    console.log(`reports: ${w.html}`);
    console.log(`${s.counts.passed} passed, ${s.counts.failed} failed, ${s.counts.skipped} skipped`);
    return 0;
  }
  if (sub === "kcidb") {
    if (dirs.length !== 1) throw new UsageError("report kcidb needs one report folder, e.g. reports/n1");
    const dir = dirs[0].replace(/\/+$/, "");
    const summary = JSON.parse(
      await Deno.readTextFile(`${dir}/summary.json`).catch(() => {
        throw new UsageError(`report kcidb ${dir}: no summary.json there`);
      }),
    ) as RunSummary;
    const lab = (await readShardRecord(dir))?.key.lab ?? "unknown";
    const baseUrl = o.baseUrl ?? new URL(`file://${await Deno.realPath(dir)}/`).href;
    const report = toKcidb(summary, { origin: o.origin ?? "famfs_lab", baseUrl, lab });
    await Deno.writeTextFile(`${dir}/kcidb.json`, JSON.stringify(report, null, 2) + "\n");
    console.log(`${dir}/kcidb.json`);
    return 0;
  }
  throw new UsageError(`report ${sub ?? ""}: choose merge or kcidb`);
}

export async function cmdHistory(o: LabOptions, log: (l: string) => void): Promise<number> {
  const dir = o.history ?? defaultHistoryDir();
  const [sub, ...dirs] = o.rest;
  if (sub === undefined) {
    await writeHistory(dir, await readIndex(dir));
    console.log(`${dir}/index.html`);
    return 0;
  }
  if (sub !== "add" || dirs.length !== 1) throw new UsageError("history: use `history` or `history add REPORT-DIR`");
  const r = await recordRun(dir, dirs[0].replace(/\/+$/, ""));
  console.log(`${dir}/index.html`);
  if (!r.previous) {
    log(`history: ${r.entry.runId} is the first ${r.entry.profile} ${r.entry.flavour} run; nothing to compare`);
    return 0;
  }
  for (const g of r.regressions) log(`regression: ${g.test}: ${g.was} -> ${g.now} (since ${r.previous.runId})`);
  log(`history: ${r.regressions.length} regression(s) against ${r.previous.runId}`);
  return r.regressions.length === 0 ? 0 : 1;
}
