// index.html of a run: one static page (no scripts) with the pass/fail table, charts of every
// measured ratio, and links to each guest's console log and each failing test's repro.sh. Pure.
import type { TestResult } from "./result.ts";
import type { RunSummary } from "./summary.ts";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** "smoke@default" -> "default": the guest folder a test ran in. */
export function topologyOf(suite: string): string {
  return suite.includes("@") ? suite.slice(suite.lastIndexOf("@") + 1) : "";
}

/** Numeric details named "...ratio" (famfs vs raw device, lab vs bare boot, ...). */
export function ratiosOf(t: TestResult): [string, number][] {
  return Object.entries(t.details ?? {}).filter((e): e is [string, number] =>
    /ratio$/i.test(e[0]) && typeof e[1] === "number" && Number.isFinite(e[1])
  );
}

function chart(ratios: [string, number][], goal: number): string {
  const rowH = 22, labelW = 260, barW = 320, max = Math.max(1.2, ...ratios.map((r) => r[1]));
  const x = (v: number) => labelW + (v / max) * barW;
  const rows = ratios.map(([k, v], i) => {
    const y = i * rowH;
    const cls = v >= goal ? "met" : "missed";
    return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(k)}</text>` +
      `<rect class="${cls}" x="${labelW}" y="${y + 4}" width="${(x(v) - labelW).toFixed(1)}" height="${rowH - 8}"/>` +
      `<text x="${(x(v) + 4).toFixed(1)}" y="${y + 15}">${v.toFixed(2)}x</text>`;
  });
  const h = ratios.length * rowH;
  return `<svg class="chart" width="${labelW + barW + 60}" height="${h + 4}" role="img">` +
    rows.join("") +
    `<line class="goal" x1="${x(goal).toFixed(1)}" y1="0" x2="${x(goal).toFixed(1)}" y2="${h}"/></svg>`;
}

function row(t: TestResult): string {
  const topo = topologyOf(t.suite);
  const message = t.message ?? t.skipReason ?? "";
  const findings = t.findings.map((f) => `<div class="finding">${esc(f.kind)}: ${esc(f.firstLine)}</div>`).join("");
  const repro = t.status === "fail" && topo ? ` <a class="repro" href="${esc(topo)}/repro.sh">repro.sh</a>` : "";
  return `<tr class="${t.status}"><td>${esc(t.suite)}</td><td>${esc(t.name)}</td>` +
    `<td class="status">${t.status}${repro}</td><td class="num">${(t.durationMs / 1000).toFixed(1)} s</td>` +
    `<td><pre>${esc(message)}</pre>${findings}</td></tr>`;
}

/** Which specification and profile the verdicts were judged against, and what did not apply. */
function famfsText(s: RunSummary): string {
  const na = s.notApplicable.map((n) => `${esc(n.suite)} (${esc(n.reason)})`).join(", ");
  const profile = s.famfs
    ? `famfs profile <b>${esc(s.famfs.profile)}</b> (${esc(s.famfs.how)})`
    : "the kernel has <b>no famfs support</b>";
  return `judged against ${esc(s.specification)} · ${profile}${na ? ` · not applicable: ${na}` : ""}`;
}

export function renderHtml(s: RunSummary, goalRatio = 0.95): string {
  const topologies = [...new Set(s.tests.map((t) => topologyOf(t.suite)).filter(Boolean))];
  const charts = s.tests.filter((t) => ratiosOf(t).length > 0).map((t) =>
    `<h3>${esc(t.suite)} / ${esc(t.name)}</h3>${chart(ratiosOf(t), goalRatio)}`
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>famfs-lab ${esc(s.runId)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
td:nth-child(-n+4){white-space:nowrap}tr.pass .status{color:#186a18}tr.fail{background:#fde8e8}tr.fail .status{color:#a01010;font-weight:bold}
tr.skip .status{color:#8a6d00}tr.deviation .status{color:#7a3fa0;font-weight:bold}pre{margin:0;white-space:pre-wrap;font-size:12px}.num{text-align:right}
.finding{color:#a01010;font-family:monospace;font-size:12px}.counts span{margin-right:1.5em}
.chart text{font-size:12px}.chart rect.met{fill:#3c8d3c}.chart rect.missed{fill:#d08a2c}.chart .goal{stroke:#333;stroke-dasharray:4 3}
</style></head><body>
<h1>famfs-lab run ${esc(s.runId)}</h1>
<p>kernel: <code>${esc(s.kernel)}</code> · topology: ${esc(s.topology)} · started ${esc(s.startedAt)} · wall ${
    (s.wallMs / 1000).toFixed(0)
  } s</p>
<p class="counts"><span id="passed">${s.counts.passed} passed</span><span id="failed">${s.counts.failed} failed</span><span id="skipped">${s.counts.skipped} skipped</span><span id="deviations">${s.counts.deviations} deviations</span></p>
<p id="judged">${famfsText(s)}</p>
<p>Console logs: ${
    topologies.map((t) => `<a class="console" href="${esc(t)}/console.log">${esc(t)}</a>`).join(" ")
  } · <a href="junit.xml">junit.xml</a> · <a href="summary.json">summary.json</a></p>
<table id="results"><thead><tr><th>suite</th><th>test</th><th>status</th><th>time</th><th>message / kernel findings</th></tr></thead>
<tbody>
${s.tests.map(row).join("\n")}
</tbody></table>
${charts.length ? `<h2>Measured ratios (dashed line: goal ${goalRatio}x)</h2>\n${charts.join("\n")}` : ""}
</body></html>
`;
}
