import assert from "node:assert/strict";
import {
  type Cell,
  cellId,
  EQUAL_WEIGHTS,
  loadWeights,
  parseShardSpec,
  partition,
  runMatrix,
  sameKey,
  shardCells,
  ShardError,
  type Weights,
  weightsFrom,
  writeShardRecord,
} from "./shard.ts";
import type { RunSummary } from "./report/summary.ts";

const smokeRun = JSON.parse(
  await Deno.readTextFile(new URL("./report/testdata/smoke-run.summary.json", import.meta.url)),
) as RunSummary;
// Six suites on two guests, as the main job had when this was written (fixed, so the expected
// partitions do not move when a suite is added).
const matrix = runMatrix(["pmem", "cxl"], [
  "smoke",
  "get_daxdev",
  "permission_nodev",
  "famfs_io",
  "teardown",
  "throughput",
]);
const ids = (cells: Cell[]) => cells.map(cellId);

Deno.test("parseShardSpec takes I/N with 1 <= I <= N and names the bad input otherwise", () => {
  assert.deepEqual(parseShardSpec("2/3"), { index: 2, count: 3 });
  for (const bad of ["0/2", "3/2", "1/0", "1", "a/b", "1/2/3"]) {
    assert.throws(() => parseShardSpec(bad), (e: Error) => e instanceof ShardError && e.message.includes(bad));
  }
});

Deno.test("weightsFrom sums durations per suite@guest and takes boot time from the guest's boot record", () => {
  const w = weightsFrom(smokeRun);
  assert.equal(w.cells.get("smoke@default"), 1382 + 2405 + 685 + 822);
  assert.equal(w.boots.get("default"), smokeRun.tests.at(-1)!.details!.bootMs);
  assert.equal(w.cells.has("boot@default"), false);
});

Deno.test("every partition covers the matrix exactly once, keeps run order, and is the same each time", () => {
  const w = weightsFrom(smokeRun);
  for (let n = 1; n <= matrix.length + 2; n++) {
    const parts = partition(matrix, n, w);
    assert.equal(parts.length, n);
    const all = parts.flat().map(cellId).sort();
    assert.deepEqual(all, ids(matrix).sort(), `n=${n}`);
    for (const p of parts) {
      const pos = p.map((c) => ids(matrix).indexOf(cellId(c)));
      assert.deepEqual(pos, [...pos].sort((a, b) => a - b));
    }
    assert.deepEqual(partition(matrix, n, w), parts);
  }
});

Deno.test("equal weights deal the cells round-robin; an unsharded run keeps the whole matrix", () => {
  const two = runMatrix(["pmem", "cxl"], ["smoke"]);
  assert.deepEqual(ids(shardCells(two, { index: 1, count: 2 }, EQUAL_WEIGHTS)), ["smoke@pmem"]);
  assert.deepEqual(ids(shardCells(two, { index: 2, count: 2 }, EQUAL_WEIGHTS)), ["smoke@cxl"]);
  assert.deepEqual(shardCells(matrix, undefined, EQUAL_WEIGHTS), matrix);
  const sizes = partition(matrix, 4, EQUAL_WEIGHTS).map((p) => p.length);
  assert.deepEqual(sizes, [3, 3, 3, 3]);
  assert.deepEqual(partition(matrix, 5, EQUAL_WEIGHTS).map((p) => p.length).sort(), [2, 2, 2, 3, 3]);
});

Deno.test("measured durations balance the parts: one slow suite gets a part to itself", () => {
  const cells = new Map(matrix.map((c) => [cellId(c), 10_000]));
  cells.set("throughput@pmem", 200_000);
  const w: Weights = { cells, boots: new Map() };
  const parts = partition(matrix, 2, w);
  const load = (p: Cell[]) => p.reduce((n, c) => n + cells.get(cellId(c))!, 0);
  const withThroughput = parts.find((p) => p.some((c) => cellId(c) === "throughput@pmem"))!;
  assert.deepEqual(ids(withThroughput), ["throughput@pmem"]);
  // The longest part is as short as it can be: the slow suite alone.
  assert.equal(Math.max(...parts.map(load)), 200_000);
});

Deno.test("a guest's boot time counts once per part that runs it, so cheap cells stay with their guest", () => {
  const m = runMatrix(["pmem", "cxl"], ["a", "b"]);
  const w: Weights = {
    cells: new Map(ids(m).map((id) => [id, 1000])),
    boots: new Map([["pmem", 60_000], ["cxl", 60_000]]),
  };
  const parts = partition(m, 2, w);
  assert.deepEqual(parts.map((p) => [...new Set(p.map((c) => c.guest))].length), [1, 1]);
});

Deno.test("sameKey: kernel, lab commit and matrix all have to match", () => {
  const k = { kernel: "debian 7.3.4 + ref base", lab: "2388b1b", matrix };
  assert.ok(sameKey(k, { ...k, matrix: [...matrix] }));
  assert.ok(!sameKey(k, { ...k, lab: "2388b1b-dirty" }));
  assert.ok(!sameKey(k, { ...k, kernel: "debian 7.3.4 debug" }));
  assert.ok(!sameKey(k, { ...k, matrix: matrix.slice(1) }));
});

Deno.test("loadWeights: the newest complete run under reports/ counts, a shard's partial summary does not", async () => {
  const root = await Deno.makeTempDir({ prefix: "famfs-lab-shard-" });
  try {
    assert.equal(await loadWeights(undefined, root), EQUAL_WEIGHTS);
    await Deno.mkdir(`${root}/full`);
    await Deno.writeTextFile(`${root}/full/summary.json`, JSON.stringify(smokeRun));
    await Deno.mkdir(`${root}/tests/shard-1`, { recursive: true });
    const partial = { ...smokeRun, tests: smokeRun.tests.map((t) => ({ ...t, durationMs: 1 })) };
    await Deno.writeTextFile(`${root}/tests/shard-1/summary.json`, JSON.stringify(partial));
    await writeShardRecord(`${root}/tests/shard-1`, {
      key: { kernel: "k", lab: "l", matrix: [] },
      shard: { index: 1, count: 2 },
      cells: [],
    });
    assert.deepEqual(await loadWeights(undefined, root), weightsFrom(smokeRun));
    await assert.rejects(loadWeights(`${root}/missing.json`, root), ShardError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("weights of a captured run: cells and boots measured; the heavier guest (CXL here) goes to shard 1", async () => {
  const whole = JSON.parse(
    await Deno.readTextFile(new URL("./report/testdata/shards/whole/summary.json", import.meta.url)),
  ) as RunSummary;
  const w = weightsFrom(whole);
  assert.deepEqual([...w.cells.keys()], ["smoke@pmem", "smoke@cxl"]);
  assert.deepEqual([...w.boots.keys()], ["pmem", "cxl"]);
  assert.ok([...w.boots.values()].every((ms) => ms > 1000), "boot times are real");
  const two = runMatrix(["pmem", "cxl"], ["smoke"]);
  // CXL: 6496 ms of smoke + 6756 ms boot; pmem: 5765 + 7201. Equal weights would put pmem first.
  assert.deepEqual(partition(two, 2, w).map(ids), [["smoke@cxl"], ["smoke@pmem"]]);
  assert.deepEqual(partition(two, 2, EQUAL_WEIGHTS).map(ids), [["smoke@pmem"], ["smoke@cxl"]]);
});
