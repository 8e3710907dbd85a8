// `lab history`: an index of finished runs (kernel, profile, lab commit, per-test verdicts,
// throughput ratios) and a trend page over it: each test's verdict over time, ratios over time,
// and flaky tests. The index entry, the trend and the page are pure; the index file is the edge.
import { isRegression } from "./compare.ts";
import { cacheDir, exists } from "./cache.ts";
import { ratiosOf } from "./report/html.ts";
import type { TestStatus } from "./report/result.ts";
import type { RunSummary } from "./report/summary.ts";
import { readShardRecord } from "./shard.ts";

export class HistoryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HistoryError";
  }
}

export interface HistoryEntry {
  runId: string;
  startedAt: string;
  /** The kernel description, e.g. "debian 7.3.4-1~bpo13+1 + ref (5 patches) base". */
  kernel: string;
  /** The series the kernel carries ("stock" without one), from the kernel description. */
  profile: string;
  flavour: string;
  /** The lab commit that ran (shard.json's run key), "unknown" for older report folders. */
  lab: string;
  /** "suite@topology/test" -> verdict. */
  verdicts: Record<string, TestStatus>;
  /** "suite@topology/test/ratio name" -> ratio. */
  ratios: Record<string, number>;
}

export interface HistoryIndex {
  runs: HistoryEntry[];
}

export function defaultHistoryDir(): string {
  return `${cacheDir()}/history`;
}

/** A finished run as an index entry. */
export function entryOf(s: RunSummary, lab: string): HistoryEntry {
  const verdicts: Record<string, TestStatus> = {};
  const ratios: Record<string, number> = {};
  for (const t of s.tests) {
    verdicts[`${t.suite}/${t.name}`] = t.status;
    for (const [k, v] of ratiosOf(t)) ratios[`${t.suite}/${t.name}/${k}`] = v;
  }
  return {
    runId: s.runId,
    startedAt: s.startedAt,
    kernel: s.kernel,
    profile: s.kernel.match(/ \+ (\S+) \(\d+ patches\)/)?.[1] ?? "stock",
    flavour: s.kernel.match(/ (base|debug)$/)?.[1] ?? "",
    lab,
    verdicts,
    ratios,
  };
}

/** The index with `e` in it (replacing a run of the same id), oldest run first. */
export function addEntry(index: HistoryIndex, e: HistoryEntry): HistoryIndex {
  const runs = index.runs.filter((r) => r.runId !== e.runId);
  runs.push(e);
  runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
  return { runs };
}

/** The run before `e` of the same kind (profile and flavour), the one a night is compared with. */
export function previousOf(index: HistoryIndex, e: HistoryEntry): HistoryEntry | null {
  const before = index.runs.filter((r) =>
    r.startedAt < e.startedAt && r.runId !== e.runId && r.profile === e.profile && r.flavour === e.flavour
  );
  return before.at(-1) ?? null;
}

export interface Regression {
  test: string;
  was: string;
  now: string;
}

/** Tests that regressed since `previous`, by the same rule as `lab compare` (lab/compare.ts). */
export function regressionsSince(previous: HistoryEntry, current: HistoryEntry): Regression[] {
  const tests = new Set([...Object.keys(previous.verdicts), ...Object.keys(current.verdicts)]);
  return [...tests].flatMap((test) => {
    const was = previous.verdicts[test] ?? "missing", now = current.verdicts[test] ?? "missing";
    return isRegression(was, now) ? [{ test, was, now }] : [];
  });
}

export interface Flaky {
  test: string;
  kernel: string;
  lab: string;
  /** Run ids in order, with the verdict of each. */
  verdicts: [string, TestStatus][];
}

/** Tests whose verdict flips between pass and fail among runs of one kernel and one lab commit. */
export function flakyTests(index: HistoryIndex): Flaky[] {
  const groups = new Map<string, HistoryEntry[]>();
  for (const r of index.runs) {
    if (r.lab === "unknown" || r.lab.endsWith("-dirty")) continue; // the lab itself may differ
    const k = `${r.kernel}\0${r.lab}`;
    groups.set(k, [...groups.get(k) ?? [], r]);
  }
  const out: Flaky[] = [];
  for (const runs of groups.values()) {
    const tests = [...new Set(runs.flatMap((r) => Object.keys(r.verdicts)))].sort();
    for (const test of tests) {
      const verdicts = runs.filter((r) => r.verdicts[test] !== undefined).map((r): [string, TestStatus] => [
        r.runId,
        r.verdicts[test],
      ]);
      const seen = new Set(verdicts.map((v) => v[1]));
      if (seen.has("pass") && seen.has("fail")) out.push({ test, kernel: runs[0].kernel, lab: runs[0].lab, verdicts });
    }
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function sparkline(points: (number | undefined)[], goal: number): string {
  const w = 14 * Math.max(points.length, 2), h = 40;
  const values = points.filter((p): p is number => p !== undefined);
  const max = Math.max(goal * 1.2, ...values);
  const y = (v: number) => (h - 4 - (v / max) * (h - 8)).toFixed(1);
  const dots = points.map((v, i) =>
    v === undefined ? "" : `<circle cx="${i * 14 + 7}" cy="${y(v)}" r="3" class="${v >= goal ? "met" : "missed"}">` +
      `<title>${v.toFixed(2)}x</title></circle>`
  ).join("");
  const line = points.map((v, i) => v === undefined ? null : `${i * 14 + 7},${y(v)}`).filter(Boolean).join(" ");
  return `<svg class="spark" width="${w}" height="${h}"><line class="goal" x1="0" x2="${w}" y1="${y(goal)}" y2="${
    y(goal)
  }"/><polyline points="${line}"/>${dots}</svg>`;
}

/** The trend page: newest `last` runs as columns, one row per test and per ratio. Pure, no scripts. */
export function renderTrend(index: HistoryIndex, last = 30, goalRatio = 0.95): string {
  const runs = index.runs.slice(-last);
  const flaky = flakyTests({ runs });
  const flakySet = new Set(flaky.map((f) => f.test));
  const tests = [...new Set(runs.flatMap((r) => Object.keys(r.verdicts)))].sort();
  const ratios = [...new Set(runs.flatMap((r) => Object.keys(r.ratios)))].sort();
  // A column whose kernel or lab differs from the one before starts a new group: a verdict that
  // changes there may be the change's doing; one that changes inside a group is flaky.
  const head = runs.map((r, i) => {
    const changed = i > 0 && (r.kernel !== runs[i - 1].kernel || r.lab !== runs[i - 1].lab);
    return `<th class="run${changed ? " change" : ""}" title="${esc(`${r.runId}\n${r.kernel}\nlab ${r.lab}`)}">${
      esc(r.startedAt.slice(5, 10))
    }<br><code>${esc(r.lab.slice(0, 7))}</code></th>`;
  }).join("");
  const verdictRows = tests.map((t) =>
    `<tr${flakySet.has(t) ? ' class="flaky"' : ""}><td>${esc(t)}</td>${
      runs.map((r) => {
        const v = r.verdicts[t];
        return `<td class="v ${v ?? "none"}" title="${esc(r.runId)}">${v ? v[0].toUpperCase() : ""}</td>`;
      }).join("")
    }</tr>`
  ).join("\n");
  const ratioRows = ratios.map((k) => {
    const pts = runs.map((r) => r.ratios[k]);
    const latest = pts.filter((p) => p !== undefined).at(-1);
    return `<tr><td>${esc(k)}</td><td>${sparkline(pts, goalRatio)}</td><td class="num">${
      latest === undefined ? "" : `${latest.toFixed(2)}x`
    }</td></tr>`;
  }).join("\n");
  const flakyRows = flaky.map((f) =>
    `<tr><td>${esc(f.test)}</td><td><code>${esc(f.kernel)}</code></td><td><code>${esc(f.lab)}</code></td><td>${
      f.verdicts.map(([id, v]) => `<span class="${v}" title="${esc(id)}">${v}</span>`).join(" ")
    }</td></tr>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>famfs-lab trend</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 5px;text-align:left;vertical-align:middle}th.run{font-weight:normal;font-size:11px}
th.change{border-left:3px solid #333}td.v{text-align:center;width:1.5em;font-size:11px}td.pass{background:#cfeccf}
td.fail{background:#f5b5b5}td.skip{background:#f3e6b3}td.none{background:#fafafa}tr.flaky td:first-child{font-weight:bold}
tr.flaky td:first-child::after{content:" (flaky)";color:#a05a00;font-weight:normal}.num{text-align:right}
.spark polyline{fill:none;stroke:#555}.spark .goal{stroke:#999;stroke-dasharray:3 3}.spark .met{fill:#3c8d3c}.spark .missed{fill:#d08a2c}
span.pass{color:#186a18}span.fail{color:#a01010}
</style></head><body>
<h1>famfs-lab trend</h1>
<p>${runs.length} run(s), oldest first. A thick column border marks a change of kernel or lab commit (hover a column
for its run). P pass, F fail, S skip, blank: not run.</p>
<h2 id="verdicts">Verdicts</h2>
<table><thead><tr><th>test</th>${head}</tr></thead><tbody>
${verdictRows}
</tbody></table>
<h2 id="ratios">Ratios (dashed line: goal ${goalRatio}x)</h2>
${
    ratios.length
      ? `<table><thead><tr><th>ratio</th><th>over the runs</th><th>latest</th></tr></thead><tbody>
${ratioRows}
</tbody></table>`
      : "<p>No ratios recorded.</p>"
  }
<h2 id="flaky">Flaky tests</h2>
${
    flaky.length
      ? `<p>Verdict flipped between runs of the same kernel and lab commit.</p>
<table><thead><tr><th>test</th><th>kernel</th><th>lab</th><th>verdicts</th></tr></thead><tbody>
${flakyRows}
</tbody></table>`
      : "<p>None.</p>"
  }
</body></html>
`;
}

export async function readIndex(dir: string): Promise<HistoryIndex> {
  const path = `${dir}/index.json`;
  if (!await exists(path)) return { runs: [] };
  try {
    return JSON.parse(await Deno.readTextFile(path)) as HistoryIndex;
  } catch (e) {
    throw new HistoryError(`${path}: not a history index (move it away to start a new one)`, { cause: e });
  }
}

/** Writes index.json and the trend page (index.html) into `dir`. */
export async function writeHistory(dir: string, index: HistoryIndex): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/index.json.tmp`, JSON.stringify(index, null, 1) + "\n");
  await Deno.rename(`${dir}/index.json.tmp`, `${dir}/index.json`);
  await Deno.writeTextFile(`${dir}/index.html`, renderTrend(index));
}

export interface Recorded {
  entry: HistoryEntry;
  previous: HistoryEntry | null;
  regressions: Regression[];
}

/** Adds a finished report folder to the history in `dir` and compares it with the run before. */
export async function recordRun(
  dir: string,
  reportDir: string,
): Promise<Recorded> {
  let summary: RunSummary;
  try {
    summary = JSON.parse(await Deno.readTextFile(`${reportDir}/summary.json`)) as RunSummary;
  } catch (e) {
    throw new HistoryError(`history add ${reportDir}: no readable summary.json there (a lab run report folder?)`, {
      cause: e,
    });
  }
  const lab = await readShardRecord(reportDir).then((r) => r?.key.lab ?? "unknown");
  const entry = entryOf(summary, lab);
  const index = addEntry(await readIndex(dir), entry);
  await writeHistory(dir, index);
  const previous = previousOf(index, entry);
  return { entry, previous, regressions: previous ? regressionsSince(previous, entry) : [] };
}
