// `lab validate`: every prefix of a series built (each patch must build on its own; each prefix
// starts from the previous one's build folder), checkpatch on every patch, the suites on the whole
// series, and one verdict against a baseline run. `lab compare` is its last step alone.
import { dirname } from "node:path";
import { exists, REPO_DIR, sha256 } from "./cache.ts";
import { runCheckpatch } from "./checkpatch.ts";
import { compareRuns, type Comparison, readRunSummary } from "./compare.ts";
import { buildKernel, ensureDebianSource, type Kernel, type KernelRequest } from "./kernel.ts";
import { baseCommit, MUTANT_DIR, type Patch, readSeries, resolveSeriesPath } from "./patches.ts";
import { consoleExcerpt, excerptFile } from "./report/excerpt.ts";
import { buildSummary, type RunSummary } from "./report/summary.ts";
import { writeRunReports } from "./report/write.ts";
import { newRunId, type RunRequest, runSuites } from "./run.ts";
import { makeVerdict, type PatchRow, renderVerdict, type Verdict } from "./verdict.ts";
import { $ } from "zx";
import { SPECIFICATION } from "../suites/contract/profiles.ts";

export interface ValidateRequest extends RunRequest {
  /** A finished run folder, or a series whose run (cached) is the baseline; default the reference series. */
  baseline?: string;
}

/** The patches of the request's kernel (series, then mutant), and the raw text a base-commit line may be in. */
async function seriesOf(k: KernelRequest): Promise<{ patches: Patch[]; text: string }> {
  const path = resolveSeriesPath(k.series ?? "ref");
  const patches = await readSeries(path);
  if (k.mutant) patches.push(...await readSeries(`${MUTANT_DIR}${k.mutant}.patch`));
  const info = await Deno.stat(path);
  const text = info.isFile ? await Deno.readTextFile(path) : (await Promise.all(
    [...Deno.readDirSync(path)].filter((e) => e.isFile).map((e) => Deno.readTextFile(`${path}/${e.name}`)),
  )).join("\n");
  return { patches, text };
}

/** The tree the series is applied to, and what its base-commit line means for it. */
async function baseOf(
  k: KernelRequest,
  commit: string | null,
  log: (l: string) => void,
): Promise<{ tree: string; base: string; note?: string }> {
  if (k.source.kind === "tree") {
    const head = (await $({ quiet: true, nothrow: true, cwd: k.source.path })`git rev-parse HEAD`).stdout.trim();
    const base = `tree ${k.source.path}${head ? ` at ${head.slice(0, 12)}` : ""}`;
    if (!commit) return { tree: k.source.path, base };
    const same = head !== "" && (head.startsWith(commit) || commit.startsWith(head));
    return {
      tree: k.source.path,
      base,
      note: same ? "matches the tree's HEAD" : `MISMATCH: the tree is at ${head || "(not a git tree)"}`,
    };
  }
  const src = await ensureDebianSource(log);
  return {
    tree: src.path,
    base: `debian ${src.version}`,
    ...(commit
      ? { note: `not checked: Debian's source has no git history; use --kernel-src DIR at ${commit} to build on it` }
      : {}),
  };
}

function firstLines(e: unknown, n = 3): string {
  return (e instanceof Error ? e.message : String(e)).split("\n").slice(0, n).join(" | ");
}

/** Builds patches 1..k for every k and runs checkpatch on patch k: the per-patch table. */
export async function buildPrefixes(
  req: ValidateRequest,
  patches: Patch[],
  tree: string,
): Promise<{ rows: PatchRow[]; kernel: Kernel | null }> {
  const rows: PatchRow[] = [];
  let kernel: Kernel | null = null;
  for (let k = 1; k <= patches.length; k++) {
    const p = patches[k - 1];
    req.log(`validate: patch ${k}/${patches.length}: ${p.subject}`);
    const row: PatchRow = {
      index: k,
      name: p.name,
      subject: p.subject,
      build: "built",
      buildMs: 0,
      cached: false,
      checkpatch: null,
    };
    try {
      const built = await buildKernel({ ...req.kernel, firstPatches: k }, req.log);
      Object.assign(row, { buildMs: built.buildMs, cached: built.cached, seededBy: built.seededBy });
      if (k === patches.length) kernel = built;
    } catch (e) {
      Object.assign(row, { build: "failed", error: firstLines(e) });
    }
    try {
      row.checkpatch = await runCheckpatch(tree, p.text);
    } catch (e) {
      row.checkpatchError = firstLines(e, 1);
    }
    rows.push(row);
  }
  return { rows, kernel };
}

/** A hash of the lab and suites code (tests and captures excluded): a baseline is valid for one lab version. */
export async function labHash(): Promise<string> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "testdata") walk(p);
      else if (e.isFile && !e.name.endsWith("_test.ts")) files.push(p);
    }
  };
  for (const d of ["lab", "suites", "src", "vm-images/guest", "vm-images/topologies"]) walk(`${REPO_DIR}/${d}`);
  files.sort();
  return sha256(await Promise.all(files.map(async (f) => `${f.slice(REPO_DIR.length)}\0${await Deno.readTextFile(f)}`)))
    .slice(0, 12);
}

/** The baseline run: a finished run folder, or the (cached) run of a series with the same suites and guests. */
export async function baselineRun(req: ValidateRequest): Promise<RunSummary> {
  const given = req.baseline;
  for (const folder of given ? [given, `${REPO_DIR}/reports/${given}`] : []) {
    if (await exists(`${folder}/summary.json`)) return await readRunSummary(folder);
  }
  const kernel = { ...req.kernel, series: given ?? "ref", mutant: undefined, firstPatches: undefined };
  const built = await req.kernelBuild({ ...req, kernel });
  const selection = sha256([req.suites.join(","), req.topology]).slice(0, 8);
  const runId = `baselines/${built.key}-${await labHash()}-${selection}`;
  const dir = `${REPO_DIR}/reports/${runId}`;
  if (await exists(`${dir}/complete`)) {
    req.log(`validate: baseline ${kernel.series} from ${dir} (cached)`);
    return await readRunSummary(dir);
  }
  req.log(`validate: running the baseline (${kernel.series}) into ${dir}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await runSuites({ ...req, kernel, runId });
  await Deno.writeTextFile(`${dir}/complete`, "");
  return await readRunSummary(dir);
}

/** Console excerpts of the candidate's failing tests, beside each guest's console.log. */
async function writeExcerpts(dir: string, c: Comparison, summary: RunSummary): Promise<void> {
  const failing = new Set([...c.regressions.map((r) => r.id), ...c.deviationsNew.map((d) => d.id)]);
  for (const t of summary.tests) {
    if (!failing.has(`${t.suite}/${t.name}`) || !t.suite.includes("@")) continue;
    const [suite, topo] = t.suite.split("@");
    const consoleText = await Deno.readTextFile(`${dir}/${topo}/console.log`).catch(() => "");
    const excerpt = consoleExcerpt(consoleText, `${suite}/${t.name}`);
    if (!excerpt) continue;
    const file = `${dir}/${topo}/${excerptFile(`${suite}/${t.name}`)}`;
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.writeTextFile(file, excerpt);
  }
}

/** The verdict into the run folder: verdict.json, verdict.txt, excerpts, and index.html with the verdict first. */
async function writeVerdict(dir: string, summary: RunSummary, v: Verdict): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  if (v.comparison) await writeExcerpts(dir, v.comparison, summary);
  await writeRunReports(dir, summary, v);
  await Deno.writeTextFile(`${dir}/verdict.json`, JSON.stringify(v, null, 2) + "\n");
  await Deno.writeTextFile(`${dir}/verdict.txt`, renderVerdict(v));
}

/** Runs the whole validation; prints the verdict and returns it with the run folder. */
export async function validateSeries(req: ValidateRequest): Promise<{ verdict: Verdict; dir: string }> {
  const runId = req.runId ?? newRunId("validate");
  const dir = `${REPO_DIR}/reports/${runId}`;
  const { patches, text } = await seriesOf(req.kernel);
  const commit = baseCommit(text);
  const { tree, base, note } = await baseOf(req.kernel, commit, req.log);
  if (commit) req.log(`validate: base-commit ${commit}: ${note}`);
  const started = new Date();
  const { rows, kernel } = await buildPrefixes(req, patches, tree);
  let summary = buildSummary({
    runId,
    kernel: "(not built)",
    topology: req.topology,
    startedAt: started,
    wallMs: 0,
    specification: SPECIFICATION,
    famfs: null,
    notApplicable: [],
    tests: [],
  });
  let comparison: Comparison | null = null;
  if (kernel) {
    await runSuites({ ...req, runId, kernelBuild: () => Promise.resolve(kernel) });
    summary = await readRunSummary(dir);
    comparison = compareRuns(await baselineRun(req), summary);
  }
  const verdict = makeVerdict({
    series: req.kernel.series ?? "ref",
    base,
    baseCommit: commit,
    ...(note ? { baseNote: note } : {}),
    patches: rows,
    comparison,
  });
  await writeVerdict(dir, summary, verdict);
  console.log(renderVerdict(verdict));
  console.log(`reports: ${dir}/index.html`);
  return { verdict, dir };
}

/** `lab compare RUN_A RUN_B`: the comparison of two finished run folders. */
export async function compareFolders(a: string, b: string): Promise<Comparison> {
  return compareRuns(await readRunSummary(a), await readRunSummary(b));
}
