// Pure rendering of a main job's timing.json as a table: per guest, per suite and per test, where
// the wall time went (boot, guest commands by category, host-side time between commands).
import { EXEC_CATEGORIES, type ExecCategory } from "./category.ts";
import type { CategoryTotal, RunTiming, TestTiming } from "./record.ts";

interface Row {
  label: string;
  wallMs: number;
  bootMs?: number;
  execs: Partial<Record<ExecCategory, CategoryTotal>>;
  hostMs: number;
}

function sumTests(label: string, tests: readonly TestTiming[]): Row {
  const execs: Partial<Record<ExecCategory, CategoryTotal>> = {};
  for (const t of tests) {
    for (const c of EXEC_CATEGORIES) {
      const x = t.execs[c];
      if (!x) continue;
      const sum = execs[c] ??= { count: 0, ms: 0 };
      sum.count += x.count;
      sum.ms += x.ms;
    }
  }
  return {
    label,
    wallMs: tests.reduce((s, t) => s + t.wallMs, 0),
    execs,
    hostMs: tests.reduce((s, t) => s + t.hostMs, 0),
  };
}

const sec = (ms: number) => (ms / 1000).toFixed(1);

function cells(r: Row): string[] {
  return [
    r.label,
    sec(r.wallMs),
    r.bootMs === undefined ? "" : sec(r.bootMs),
    ...EXEC_CATEGORIES.map((c) => {
      const x = r.execs[c];
      return x ? `${x.count}x ${sec(x.ms)}` : "";
    }),
    sec(r.hostMs),
  ];
}

/** Suites in the order they ran, each with its tests. */
function bySuite(tests: readonly TestTiming[]): Map<string, TestTiming[]> {
  const m = new Map<string, TestTiming[]>();
  for (const t of tests) m.set(t.suite, [...m.get(t.suite) ?? [], t]);
  return m;
}

export function renderTimingTable(t: RunTiming): string {
  const header = ["", "wall s", "boot+stop s", ...EXEC_CATEGORIES.map((c) => `${c} n s`), "host s"];
  const rows: string[][] = [];
  const all: TestTiming[] = [];
  let bootStopMs = 0;
  for (const g of t.guests) {
    const guestBootStop = g.bootMs.reduce((s, b) => s + b, 0) + g.stopMs;
    bootStopMs += guestBootStop;
    all.push(...g.tests);
    const guest = sumTests(`${g.topology} guest (${g.bootMs.length} boot${g.bootMs.length === 1 ? "" : "s"})`, g.tests);
    rows.push(cells({ ...guest, wallMs: guest.wallMs + guestBootStop, bootMs: guestBootStop }));
    for (const [suite, tests] of bySuite(g.tests)) {
      rows.push(cells(sumTests(`  ${suite}`, tests)));
      for (const test of tests) rows.push(cells(sumTests(`    ${test.test}`, [test])));
    }
  }
  const total = sumTests("all guests", all);
  rows.push(cells({ ...total, wallMs: total.wallMs + bootStopMs, bootMs: bootStopMs }));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  const accounted = total.wallMs + bootStopMs;
  const share = (ms: number) => `${Math.round((100 * ms) / Math.max(1, accounted))}%`;
  const shares = [
    `boot+stop ${share(bootStopMs)}`,
    ...EXEC_CATEGORIES.flatMap((c) => total.execs[c] ? [`${c} ${share(total.execs[c]!.ms)}`] : []),
    `host ${share(total.hostMs)}`,
  ];
  return [
    `main job timing, run ${t.runId}: wall ${sec(t.wallMs)} s; guests ${sec(accounted)} s`,
    line(header),
    ...rows.map(line),
    `share of the guests' time: ${shares.join(", ")} (commands may overlap, so shares can add up past 100%)`,
  ].join("\n") + "\n";
}
