// Main-job timing: where the wall time of a main job went (boot, guest `deno run`s, daemon start
// and stop, waits, the work itself, host-side time), per guest, suite and test.
//   main_job_timing.ts [RUN_DIR]         the table of a finished run (default: the newest run
//                                        under reports/ that has a timing.json)
//   main_job_timing.ts --run [LAB ARGS]  runs `lab run LAB ARGS` first (the main job when no
//                                        LAB ARGS), then prints its table
import { LAB_CLI, REPO_DIR } from "../lab/cache.ts";
import type { RunTiming } from "../lab/timing/record.ts";
import { renderTimingTable } from "../lab/timing/table.ts";

const REPORTS = `${REPO_DIR}/reports`;

async function newestTimedRun(): Promise<string | null> {
  let best: { dir: string; mtime: number } | null = null;
  const entries = await Array.fromAsync(Deno.readDir(REPORTS)).catch(() => [] as Deno.DirEntry[]);
  for (const e of entries) {
    const stat = await Deno.stat(`${REPORTS}/${e.name}/timing.json`).catch(() => null);
    const mtime = stat?.mtime?.getTime() ?? 0;
    if (stat && (!best || mtime > best.mtime)) best = { dir: `${REPORTS}/${e.name}`, mtime };
  }
  return best?.dir ?? null;
}

async function runMainJob(labArgs: string[]): Promise<string> {
  const runId = `timing-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const status = await new Deno.Command(Deno.execPath(), {
    args: [...LAB_CLI, "run", "--run-id", runId, ...labArgs],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  // A run with failing tests still has a timing; only a run that wrote none is an error.
  console.error(`main job: lab run exited ${status.code}`);
  return `${REPORTS}/${runId}`;
}

const args = Deno.args;
const dir = args[0] === "--run" ? await runMainJob(args.slice(1)) : args[0] ?? await newestTimedRun();
if (!dir) {
  console.log(`main job timing: no run under ${REPORTS} has a timing.json (bench/main_job_timing.ts --run makes one)`);
  Deno.exit(0);
}
const text = await Deno.readTextFile(`${dir}/timing.json`).catch(() => null);
if (text === null) {
  console.error(`main_job_timing: ${dir}/timing.json: no such file (give a run folder of a lab run, or --run)`);
  Deno.exit(2);
}
console.log(renderTimingTable(JSON.parse(text) as RunTiming));
