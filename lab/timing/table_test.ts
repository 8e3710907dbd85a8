import assert from "node:assert/strict";
import type { RunTiming } from "./record.ts";
import { renderTimingTable } from "./table.ts";

// Captured: `lab run -t pmem --suite smoke --suite famfs_io` under TCG on the reference kernel.
const captured = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/pmem-smoke-famfs_io.timing.json", import.meta.url)),
) as RunTiming;

/** The number cells of the row labelled `label`, cut at the header's column ends (cells are right-aligned). */
const rowOf = (table: string, label: string) => {
  const [, header, ...rows] = table.split("\n");
  const row = rows.find((l) => l.startsWith(label));
  assert.ok(row, `no row "${label}" in\n${table}`);
  const columns = [...header.matchAll(/\S+(?: \S+)*/g)];
  const ends = [columns[0].index! - 2, ...columns.map((m) => m.index! + m[0].length)];
  return ends.slice(1).map((end, i) => row.slice(ends[i], end).trim());
};

Deno.test("timing table: one row per guest, suite and test, in the order they ran", () => {
  const table = renderTimingTable(captured);
  const labels = table.trimEnd().split("\n").slice(2, -2).map((l) => l.match(/^ *\S+(?: \S+)*/)![0]);
  const g = captured.guests[0];
  const expected = [
    "pmem guest (1 boot)",
    "  smoke",
    ...g.tests.filter((t) => t.suite === "smoke").map((t) => `    ${t.test}`),
    "  famfs_io",
    ...g.tests.filter((t) => t.suite === "famfs_io").map((t) => `    ${t.test}`),
  ];
  assert.deepEqual(labels, expected);
  assert.match(table, /^main job timing, run timing-capture: wall 114\.2 s; guests 114\.1 s$/m);
});

Deno.test("timing table: suite rows sum their tests; the guest row adds its boot and stop", () => {
  const table = renderTimingTable(captured);
  const g = captured.guests[0];
  const io = g.tests.filter((t) => t.suite === "famfs_io");
  const starts = io.reduce((s, t) => s + (t.execs["daemon-start"]?.count ?? 0), 0);
  const startMs = io.reduce((s, t) => s + (t.execs["daemon-start"]?.ms ?? 0), 0);
  const [wall, , , daemonStart] = rowOf(table, "  famfs_io");
  assert.equal(wall, (io.reduce((s, t) => s + t.wallMs, 0) / 1000).toFixed(1));
  assert.equal(daemonStart, `${starts}x ${(startMs / 1000).toFixed(1)}`);
  const bootStop = g.bootMs[0] + g.stopMs;
  const [guestWall, guestBoot] = rowOf(table, "pmem guest (1 boot)");
  assert.equal(guestBoot, (bootStop / 1000).toFixed(1));
  assert.equal(guestWall, ((g.tests.reduce((s, t) => s + t.wallMs, 0) + bootStop) / 1000).toFixed(1));
});

Deno.test("timing table: the shares line names where the guests' time went", () => {
  const table = renderTimingTable(captured);
  const shares = table.trim().split("\n").at(-1)!;
  // In this capture the famfs daemon's starts and the other guest `deno run`s dominate.
  const pct = (c: string) => Number(shares.match(new RegExp(`${c} (\\d+)%`))![1]);
  assert.ok(pct("daemon-start") + pct("deno-run") > 60, shares);
  assert.ok(pct("boot\\+stop") < 10, shares);
});
