// famfs I/O on the famfs kernel: a file created with the daemon is opened; its GET_FMAP and the one GET_DAXDEV of
// its device appear exactly once in the request log (across opens and files); read(), write() and mmap() see the
// same bytes as the DAX device at the fmap offsets (simple and interleaved files); unmount + daemon exit release
// the device (it mounts again, then re-binds to device_dax).
import assert from "node:assert/strict";
import type { Skip, Suite, SuiteContext, SuiteTest } from "../../src/suite.ts";
import {
  bindDax,
  type Daemon,
  daxDriver,
  type Expected,
  type FamfsDevice,
  famfsDevice,
  formatWithFiles,
  killDaemon,
  outcome,
  type ProbeOp,
  readRequests,
  requestsOf,
  runProbe,
  type SeededFileSpec,
  startDaemon,
  stopDaemon,
} from "../lib/famfs_guest.ts";

const MNT = "/run/lab/io-mnt";
const MIB = 1024 * 1024;
// Odd size: the tail of the last 2 MiB unit is beyond EOF.
const SIMPLE: SeededFileSpec = { rel: "simple", size: 6 * MIB + 12345, seed: 101 };
const INTERLEAVED: SeededFileSpec = {
  rel: "dir/interleaved",
  size: 12 * MIB,
  seed: 102,
  interleave: { nstrips: 3, chunk: 2 * MIB },
};
const FILES = [SIMPLE, INTERLEAVED];
/** What the I/O test writes: through write() and through a shared mapping. */
const WRITES = {
  simple: { write: { off: 4096 + 7, len: 5000, byte: 0xa5 }, mmap: { off: 2 * MIB + 100, len: 3000, byte: 0x5a } },
  interleaved: { write: { off: 2 * MIB - 50, len: 100, byte: 0x11 }, mmap: { off: 9 * MIB, len: 8192, byte: 0x22 } },
};

interface State {
  dev: FamfsDevice;
  /** Driver of the device before the suite (restored at the end). */
  initialDriver: string;
  daemon?: Daemon;
  /** Content each file should have now. */
  expect: Record<string, Expected>;
  formatted: boolean;
}

const states = new WeakMap<SuiteContext, State>();

function skipStock(ctx: SuiteContext): Skip | undefined {
  if (ctx.profile === null) return { skip: "stock kernel: no famfs support" };
}

async function state(ctx: SuiteContext): Promise<State> {
  let s = states.get(ctx);
  if (!s) {
    const dev = famfsDevice(ctx);
    s = { dev, initialDriver: await daxDriver(ctx, dev.dax), expect: {}, formatted: false };
    for (const f of FILES) s.expect[f.rel] = { seed: f.seed, patches: [] };
    states.set(ctx, s);
  }
  if (!s.formatted) {
    await formatWithFiles(ctx, s.dev, MNT, FILES);
    s.formatted = true;
  }
  return s;
}

/** The suite's daemon (with a request log), started when no earlier test left one running. */
async function daemon(ctx: SuiteContext, s: State): Promise<Daemon> {
  if (!s.daemon) {
    await bindDax(ctx, s.dev.dax, "fsdev_dax");
    s.daemon = await startDaemon(ctx, s.dev.path, MNT, { name: "io", requestLog: true });
  }
  return s.daemon;
}

async function stop(ctx: SuiteContext, s: State): Promise<void> {
  const d = s.daemon;
  s.daemon = undefined;
  if (!d) return;
  try {
    await stopDaemon(ctx, d);
  } catch (e) {
    await killDaemon(ctx, d);
    throw e;
  }
}

const path = (f: SeededFileSpec) => `${MNT}/${f.rel}`;

/** Reads of the whole file through read() and through a read-only mapping, compared with `e`. */
function readBoth(f: SeededFileSpec, e: Expected): ProbeOp[] {
  const mapLen = Math.ceil(f.size / (2 * MIB)) * 2 * MIB;
  return [
    { op: "read", path: path(f), off: 0, len: f.size + 4096, expect: e },
    { op: "mmap", path: path(f), prot: "r", mapOff: 0, mapLen, off: 0, len: f.size, expect: e },
  ];
}

const tests: SuiteTest[] = [
  {
    name: "fmap-and-daxdev-requested-once",
    timeoutMs: 900_000,
    async run(ctx) {
      const skip = skipStock(ctx);
      if (skip) return skip;
      const s = await state(ctx);
      const d = await daemon(ctx, s);
      const before = (await readRequests(ctx, d)).length;
      // Several opens of each file, interleaved between the files.
      const ops: ProbeOp[] = [];
      for (let k = 0; k < 3; k++) for (const f of FILES) ops.push({ op: "open", path: path(f) });
      const res = await runProbe(ctx, ops);
      assert.deepEqual(res.map(outcome), ops.map(() => "ok"), "every open succeeds");
      const log = await readRequests(ctx, d);
      const ino = await ctx.exec(`stat -c '%n %i' ${FILES.map(path).join(" ")}`);
      const inodes = new Map(ino.stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]));
      const fmaps = requestsOf(log, "GET_FMAP", before);
      for (const f of FILES) {
        const n = fmaps.filter((r) => r.nodeid === inodes.get(path(f))).length;
        assert.equal(n, 1, `GET_FMAP requests for ${f.rel} (nodeid ${inodes.get(path(f))}) over 3 opens`);
      }
      assert.equal(fmaps.length, FILES.length, "no GET_FMAP for other nodes");
      // Device 0 was resolved by the daemon's own bootstrap (.meta files), before `before`, exactly once.
      const daxdev = requestsOf(log, "GET_DAXDEV");
      assert.deepEqual(daxdev.map((r) => r.nodeid), ["0"], "GET_DAXDEV requests over the connection's lifetime");
      assert.equal(daxdev[0].reply.error, 0, "the GET_DAXDEV reply was sent without error");
      ctx.record({ getFmap: fmaps.length, getDaxdev: daxdev.length, requests: log.length });
    },
  },
  {
    name: "read-write-mmap-see-the-same-bytes",
    timeoutMs: 900_000,
    async run(ctx) {
      const skip = skipStock(ctx);
      if (skip) return skip;
      const s = await state(ctx);
      await daemon(ctx, s);
      const ops: ProbeOp[] = [];
      for (const f of FILES) {
        const w = f === SIMPLE ? WRITES.simple : WRITES.interleaved;
        const e = s.expect[f.rel];
        ops.push(...readBoth(f, structuredClone(e)));
        ops.push({ op: "write", path: path(f), ...w.write });
        e.patches!.push(w.write);
        // A 2 MiB-aligned shared mapping of 4 MiB: PMD faults where the map allows them.
        const mapOff = Math.floor(w.mmap.off / (2 * MIB)) * 2 * MIB;
        ops.push({ op: "mmap", path: path(f), prot: "rw", mapOff, mapLen: 2 * MIB, ...w.mmap });
        e.patches!.push(w.mmap);
        ops.push(...readBoth(f, structuredClone(e)));
        // Writes that start at EOF cannot grow the file.
        ops.push({ op: "write", path: path(f), off: f.size, len: 10, byte: 1 });
      }
      const res = await runProbe(ctx, ops);
      const want = ops.map((o) => o.op === "write" && o.len === 10 ? "write:EFBIG" : "ok");
      ctx.record({ ops: ops.map((o, i) => `${o.op} ${"path" in o ? o.path : ""}: ${outcome(res[i])}`) });
      assert.deepEqual(res.map(outcome), want, "read/write/mmap results (file offsets of mismatches)");
      for (const r of res.filter((x) => x.op === "read")) {
        assert.ok(r.n === SIMPLE.size || r.n === INTERLEAVED.size, `read() stops at EOF (got ${r.n})`);
      }
    },
  },
  {
    name: "unmount-releases-device",
    timeoutMs: 900_000,
    async run(ctx) {
      const skip = skipStock(ctx);
      if (skip) return skip;
      const s = await state(ctx);
      await daemon(ctx, s);
      await stop(ctx, s);
      // Mount again without any rebind in between (a rebind would clear a leaked holder).
      assert.equal(await daxDriver(ctx, s.dev.dax), "fsdev_dax");
      const d = await startDaemon(ctx, s.dev.path, MNT, { name: "io-again", requestLog: true }).catch((e: Error) => {
        throw new Error(`mount of ${s.dev.path} after unmount + daemon exit failed: ${e.message}`);
      });
      s.daemon = d;
      const ops = FILES.map((f) => ({ op: "read", path: path(f), off: 0, len: f.size, expect: s.expect[f.rel] }));
      const res = await runProbe(ctx, ops as ProbeOp[]);
      assert.deepEqual(res.map(outcome), ["ok", "ok"], "files read back after re-mount (incl. earlier writes)");
      await stop(ctx, s);
      await bindDax(ctx, s.dev.dax, "device_dax");
      assert.equal(await daxDriver(ctx, s.dev.dax), "device_dax", "device re-bound to device_dax after teardown");
    },
  },
  {
    name: "raw-device-matches-fmap",
    timeoutMs: 900_000,
    async run(ctx) {
      const skip = skipStock(ctx);
      if (skip) return skip;
      const s = await state(ctx);
      await stop(ctx, s);
      await bindDax(ctx, s.dev.dax, "device_dax");
      const [r] = await runProbe(ctx, [{
        op: "raw",
        dev: s.dev.path,
        files: FILES.map((f) => ({ rel: f.rel, expect: s.expect[f.rel] })),
      }]);
      assert.equal(r.error, undefined, `raw check: ${r.call} ${r.error}`);
      ctx.record({ firstMismatch: r.files });
      assert.deepEqual(r.files, { [SIMPLE.rel]: -1, [INTERLEAVED.rel]: -1 }, "device bytes at the fmap offsets");
      await bindDax(ctx, s.dev.dax, s.initialDriver === "fsdev_dax" ? "fsdev_dax" : "device_dax");
    },
  },
];

export const suite: Suite = {
  name: "famfs_io",
  description: "GET_FMAP/GET_DAXDEV once per file/device; read, write and mmap match the DAX device; clean release",
  tests,
};
