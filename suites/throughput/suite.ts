// Throughput of a famfs file against the raw DAX device it lives on, in the same guest: mmap and read()/write(),
// sequential and random, PMD vs PTE faults, open/close and stat rates. Ratios are recorded with goals (famfs mmap
// >= 0.95x raw); only errors or wrong bytes fail a test, never a number (TCG timing). The famfs figures are measured
// by the fixture (before the raw run scribbles over the device), so each test has them.
import assert from "node:assert/strict";
import { defineSuite, must, type SuiteContext, type Test } from "../contract/mod.ts";
import {
  bindDax,
  daxDriver,
  type FamfsDevice,
  famfsDevice,
  killDaemon,
  prepareFs,
  sq,
  startDaemon,
  stopDaemon,
} from "../lib/famfs_guest.ts";

const MNT = "/run/lab/tp-mnt";
const MIB = 1 << 20;
// 16 MiB keeps the suite to a few minutes under TCG (every byte is touched by several passes).
const BYTES = 16 * MIB;
const SEED = 31;
/** famfs mmap paths should cost no more than 5% against the raw device. */
const MMAP_GOAL = 0.95;

type Bench = Record<string, unknown> & { errors: string[] };

interface State {
  dev: FamfsDevice;
  /** Driver of the device before the suite (restored by the fixture's teardown). */
  initialDriver: string;
  /** Figures of the famfs file (measured by the fixture). */
  famfs: Bench;
}

async function bench(ctx: SuiteContext, mode: "raw" | "famfs", path: string, seed?: number): Promise<Bench> {
  const arg = JSON.stringify({ mode, path, bytes: BYTES, seed });
  const out = await must(ctx, `${ctx.deno} run -A ${ctx.repo}/suites/throughput/bench.ts ${sq(arg)}`, 900_000);
  return JSON.parse(out.trim().split("\n").pop()!) as Bench;
}

const num = (x: unknown): number | undefined => typeof x === "number" ? x : undefined;
const sub = (b: Bench, k: string, f: string) => num((b[k] as Record<string, unknown> | undefined)?.[f]);
const ratio = (a?: number, b?: number) => a !== undefined && b ? Math.round(a / b * 1000) / 1000 : null;

const famfs: Test<State> = {
  name: "famfs-file",
  // The fixture's famfs run lands in the suite's first test.
  timeoutMs: 300_000,
  run(ctx, s) {
    const f = s.famfs;
    ctx.record({ famfs: f });
    assert.deepEqual(f.errors, [], "famfs file: wrong bytes or failed I/O");
    assert.equal(f.pread_4KiB_returns, 4096, "read() of a famfs file");
    return Promise.resolve();
  },
};

// Measured after the famfs file (the raw run scribbles over the device; famfs is torn down by then).
const raw: Test<State> = {
  name: "raw-devdax-and-ratios",
  timeoutMs: 240_000,
  async run(ctx, s) {
    const { dax, path, bytes } = s.dev;
    assert.ok(bytes >= BYTES, `${path} holds ${bytes} bytes, the benchmark needs ${BYTES}`);
    // Same device as the famfs measurement, in device_dax mode (raw mmap); its contents are scratch here.
    await bindDax(ctx, dax, "device_dax");
    const r = await bench(ctx, "raw", path);
    ctx.record({ raw: r });
    assert.deepEqual(r.errors, [], "raw device: wrong bytes or failed I/O");
    const f = s.famfs;
    const pair = (fk: number | undefined, rk: number | undefined) => ({ famfs: fk, raw: rk, ratio: ratio(fk, rk) });
    const rows: Record<string, { famfs?: number; raw?: number; ratio: number | null }> = {};
    for (const k of ["mmap_seq_read_MBps", "mmap_seq_write_MBps", "mmap_rand_read_MBps", "mmap_rand_write_MBps"]) {
      rows[k] = pair(num(f[k]), num(r[k]));
    }
    rows.pmd_fault_touch_MBps = pair(
      sub(f, "faults_2MiB_aligned", "touch_MBps"),
      sub(r, "faults_2MiB_aligned", "touch_MBps"),
    );
    // A devdax node has no read()/write() and refuses 4 KiB-misaligned maps: compare with raw mmap instead.
    rows.read_seq_vs_raw_mmap = pair(num(f.read_seq_MBps), num(r.mmap_seq_read_MBps));
    rows.write_seq_vs_raw_mmap = pair(num(f.write_seq_MBps), num(r.mmap_seq_write_MBps));
    rows.read_rand_vs_raw_mmap = pair(num(f.read_rand_MBps), num(r.mmap_rand_read_MBps));
    rows.write_rand_vs_raw_mmap = pair(num(f.write_rand_MBps), num(r.mmap_rand_write_MBps));
    rows.pte_vs_pmd_fault_touch_famfs = pair(
      sub(f, "faults_4KiB_misaligned", "touch_MBps"),
      sub(f, "faults_2MiB_aligned", "touch_MBps"),
    );
    rows.open_close_per_s = pair(num(f.open_close_per_s), num(r.open_close_per_s));
    rows.stat_per_s = pair(num(f.stat_per_s), num(r.stat_per_s));
    const mmapKeys = ["mmap_seq_read_MBps", "mmap_seq_write_MBps", "mmap_rand_read_MBps", "mmap_rand_write_MBps"];
    const goals = Object.fromEntries(mmapKeys.map((k) => [k, (rows[k].ratio ?? 0) >= MMAP_GOAL]));
    ctx.record({
      bytes: BYTES,
      ratios: rows,
      mmapGoal: MMAP_GOAL,
      mmapGoalMet: goals,
      famfsPmdFaults: {
        FilePmdMapped_kB_aligned: sub(f, "faults_2MiB_aligned", "FilePmdMapped_kB"),
        FilePmdMapped_kB_misaligned: sub(f, "faults_4KiB_misaligned", "FilePmdMapped_kB"),
      },
    });
  },
};

export const suite = defineSuite<State>({
  name: "throughput",
  description: "famfs file vs raw devdax: mmap and read()/write() seq/random, PMD vs PTE faults, open/stat rates",
  needs: { famfs: true },
  fixture: {
    async setup(ctx) {
      const dev = famfsDevice(ctx);
      assert.ok(dev.bytes >= BYTES * 2, `the device must hold ${BYTES} bytes of file plus metadata`);
      const initialDriver = await daxDriver(ctx, dev.dax);
      await prepareFs(ctx, MNT, [{ rel: "big", size: BYTES, seed: SEED }]);
      const d = await startDaemon(ctx, dev.path, MNT);
      let f: Bench;
      try {
        f = await bench(ctx, "famfs", `${MNT}/big`, SEED);
        await stopDaemon(ctx, d);
      } catch (e) {
        await killDaemon(ctx, d);
        throw e;
      }
      return { dev, initialDriver, famfs: f };
    },
    async teardown(ctx, s) {
      await bindDax(ctx, s.dev.dax, s.initialDriver === "fsdev_dax" ? "fsdev_dax" : "device_dax");
    },
  },
  tests: [famfs, raw],
});
