import assert from "node:assert/strict";
import {
  checkShards,
  MergeError,
  mergeReportFolders,
  mergeShards,
  readShardFolder,
  runIdOf,
  type ShardFolder,
} from "./merge.ts";
import type { RunSummary } from "./summary.ts";
import { buildSummary } from "./summary.ts";
import { type Cell, EQUAL_WEIGHTS, partition, runMatrix, type ShardRecord } from "../shard.ts";
import type { TestResult } from "./result.ts";

const smokeRun = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/smoke-run.summary.json", import.meta.url)),
) as RunSummary;

// The captured run's tests as they come out of the runner on one guest: suites, then the boot record.
function onGuest(guest: string, suites: string[]): TestResult[] {
  const own = smokeRun.tests.filter((t) => !t.suite.startsWith("boot@"));
  const boot = smokeRun.tests.find((t) => t.suite.startsWith("boot@"))!;
  return [
    ...suites.flatMap((s) => own.map((t) => ({ ...t, suite: `${s}@${guest}`, name: `${t.name}` }))),
    { ...boot, suite: `boot@${guest}` },
  ];
}

const guests = ["pmem", "cxl"], suites = ["smoke", "get_daxdev"];
const matrix = runMatrix(guests, suites);
const key = { kernel: smokeRun.kernel, lab: "2388b1b", matrix };
const judged = {
  specification: "famfs-lab conformance spec 1",
  famfs: { profile: "ref", how: "test" },
  notApplicable: [],
};
const unsharded = buildSummary({
  ...judged,
  runId: "n1",
  kernel: smokeRun.kernel,
  topology: "pmem,cxl",
  startedAt: smokeRun.startedAt,
  wallMs: 40_000,
  tests: guests.flatMap((g) => onGuest(g, suites)),
});

/** What `lab run --shard I/N --run-id n1-shard-I` leaves, for the given partition. */
function shardsOf(parts: Cell[][]): ShardFolder[] {
  return parts.map((cells, i) => {
    const record: ShardRecord = { key, shard: { index: i + 1, count: parts.length }, cells };
    const tests = guests.flatMap((g) => {
      const mine = suites.filter((s) => cells.some((c) => c.guest === g && c.suite === s));
      return mine.length ? onGuest(g, mine) : [];
    });
    const summary = tests.length
      ? buildSummary({
        ...judged,
        runId: `n1-shard-${i + 1}`,
        kernel: key.kernel,
        topology: "pmem,cxl",
        startedAt: new Date(Date.parse(smokeRun.startedAt) + i * 1000),
        wallMs: 20_000,
        tests,
      })
      : null;
    return { dir: `/r/n1-shard-${i + 1}`, record, summary };
  });
}

const verdicts = (s: RunSummary) => s.tests.map((t) => `${t.suite}/${t.name}=${t.status}`);

Deno.test("merging the shards gives the unsharded run's tests, in its order, for any shard count", () => {
  for (let n = 1; n <= 5; n++) {
    const merged = mergeShards(shardsOf(partition(matrix, n, EQUAL_WEIGHTS)));
    assert.deepEqual(verdicts(merged.summary), verdicts(unsharded), `n=${n}`);
    assert.deepEqual(merged.summary.counts, unsharded.counts);
    assert.equal(merged.summary.runId, "n1");
    assert.deepEqual(merged.record.shard, { index: 1, count: 1 });
  }
});

Deno.test("a guest booted by two shards keeps one boot record: worst status, findings of both", () => {
  const shards = shardsOf([[matrix[0]], [matrix[1], matrix[2], matrix[3]]]);
  shards[1].summary!.tests = shards[1].summary!.tests.map((t) =>
    t.suite === "boot@pmem" ? { ...t, status: "fail", message: "kernel WARNING outside tests" } : t
  );
  const boot = mergeShards(shards).summary.tests.filter((t) => t.suite === "boot@pmem");
  assert.equal(boot.length, 1);
  assert.equal(boot[0].status, "fail");
  assert.equal(boot[0].message, "kernel WARNING outside tests");
  assert.equal(mergeShards(shards).summary.wallMs, 21_000, "wall time spans the earliest start to the latest end");
});

Deno.test("shards of different runs or lab versions, missing or doubled shards are refused in one line", () => {
  const two = () => shardsOf(partition(matrix, 2, EQUAL_WEIGHTS));
  const refuse = (shards: ShardFolder[], re: RegExp) =>
    assert.throws(
      () => checkShards(shards),
      (e: Error) => e instanceof MergeError && re.test(e.message) && !e.message.includes("\n"),
    );
  const lab = two();
  lab[1].record = { ...lab[1].record, key: { ...key, lab: "9999999" } };
  refuse(lab, /was run by lab 9999999, \/r\/n1-shard-1 by lab 2388b1b/);
  const kernel = two();
  kernel[1].record = { ...kernel[1].record, key: { ...key, kernel: "debian 7.3.4 debug" } };
  refuse(kernel, /shards of different runs \(kernel "debian 7.3.4 debug"/);
  const m = two();
  m[1].record = { ...m[1].record, key: { ...key, matrix: matrix.slice(0, 3) } };
  refuse(m, /different runs \(matrix/);
  refuse(two().slice(0, 1), /shard 2\/2 missing/);
  const dup = two();
  refuse([dup[0], dup[1], { ...dup[1], dir: "/r/copy" }], /both shard 2\/2/);
  const weights = two();
  weights[0].record = { ...weights[0].record, cells: [...weights[0].record.cells, matrix[1]] };
  refuse(weights, /do not add up/);
  refuse([], /give the shard report folders/);
});

Deno.test("runIdOf drops the shard suffix of a run id", () => {
  assert.equal(runIdOf("nightly-42-shard-2"), "nightly-42");
  assert.equal(runIdOf("n1_shard3of4"), "n1");
  assert.equal(runIdOf("plain"), "plain");
});

Deno.test("mergeReportFolders writes every report and each guest's folder beside them", async () => {
  const root = await Deno.makeTempDir({ prefix: "famfs-lab-merge-" });
  try {
    const shards = shardsOf([[matrix[0], matrix[1]], [matrix[2], matrix[3]]]);
    const dirs: string[] = [];
    for (const s of shards) {
      const dir = `${root}/${s.dir.slice(3)}`;
      dirs.push(dir);
      const guest = s.record.cells[0].guest;
      await Deno.mkdir(`${dir}/${guest}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${guest}/console.log`, `console of ${guest}\n`);
      await Deno.writeTextFile(`${dir}/summary.json`, JSON.stringify(s.summary));
      await Deno.writeTextFile(`${dir}/shard.json`, JSON.stringify(s.record));
    }
    const w = await mergeReportFolders(dirs, `${root}/n1`);
    const merged = JSON.parse(await Deno.readTextFile(w.summary)) as RunSummary;
    assert.deepEqual(verdicts(merged), verdicts(unsharded));
    assert.equal(await Deno.readTextFile(`${root}/n1/cxl/console.log`), "console of cxl\n");
    assert.equal((await Deno.readTextFile(w.junit)).match(/<testcase /g)?.length, unsharded.tests.length);
    assert.deepEqual(w.tap.map((p) => p.slice(root.length + 4)).sort(), [
      "boot_cxl.tap",
      "boot_pmem.tap",
      "get_daxdev_cxl.tap",
      "get_daxdev_pmem.tap",
      "smoke_cxl.tap",
      "smoke_pmem.tap",
    ]);
    assert.match(await Deno.readTextFile(w.html), /<span id="failed">4 failed<\/span>/);
    await assert.rejects(mergeReportFolders([`${root}/n1/cxl`], `${root}/x`), /has no shard\.json/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("captured shard folders of a real run (smoke, pmem and CXL, 2 shards) merge into the captured whole run", async () => {
  const dir = new URL("./testdata/shards/", import.meta.url).pathname;
  const shards = await Promise.all(["shard-1", "shard-2"].map((s) => readShardFolder(`${dir}${s}`)));
  const whole = JSON.parse(await Deno.readTextFile(`${dir}whole/summary.json`)) as RunSummary;
  const merged = mergeShards(shards).summary;
  assert.deepEqual(verdicts(merged), verdicts(whole));
  assert.deepEqual(merged.counts, { passed: 10, failed: 0, skipped: 0, deviations: 0 });
  assert.equal(merged.kernel, whole.kernel);
  assert.equal(merged.topology, "pmem,cxl");
  const other = { ...shards[1], record: { ...shards[1].record, key: { ...shards[1].record.key, lab: "2388b1b" } } };
  assert.throws(() => mergeShards([shards[0], other]), /was run by lab 2388b1b, .*shard-1 by lab 886bf0a/);
});
