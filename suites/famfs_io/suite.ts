// famfs I/O on the famfs kernel: a file created with the daemon is opened; its GET_FMAP and the one GET_DAXDEV of
// its device appear exactly once in the request log (across opens and files); read(), write() and mmap() see the
// same bytes as the DAX device at the fmap offsets (simple and interleaved files); unmount + daemon exit release
// the device (it mounts again, then re-binds to device_dax). Every test mounts with a daemon of its own and undoes
// its writes, so the files hold their seeded bytes between tests.
import assert from "node:assert/strict";
import { defineSuite, type SuiteContext, type Test } from "../contract/mod.ts";
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
type Range = { off: number; len: number; byte: number };
/** What the tests write into each file: through write() and through a shared mapping. */
const WRITES: Record<string, { write: Range; mmap: Range }> = {
  [SIMPLE.rel]: {
    write: { off: 4096 + 7, len: 5000, byte: 0xa5 },
    mmap: { off: 2 * MIB + 100, len: 3000, byte: 0x5a },
  },
  [INTERLEAVED.rel]: {
    write: { off: 2 * MIB - 50, len: 100, byte: 0x11 },
    mmap: { off: 9 * MIB, len: 8192, byte: 0x22 },
  },
};

interface State {
  dev: FamfsDevice;
  /** Driver of the device before the suite (restored by the fixture's teardown). */
  initialDriver: string;
}

const path = (f: SeededFileSpec) => `${MNT}/${f.rel}`;
const seeded = (f: SeededFileSpec): Expected => ({ seed: f.seed, patches: [] });
/** The content of `f` after the writes of WRITES. */
const written = (f: SeededFileSpec): Expected => ({
  seed: f.seed,
  patches: [WRITES[f.rel].write, WRITES[f.rel].mmap],
});

/** Reads of the whole file through read() and through a read-only mapping, compared with `e`. */
function readBoth(f: SeededFileSpec, e: Expected): ProbeOp[] {
  const mapLen = Math.ceil(f.size / (2 * MIB)) * 2 * MIB;
  return [
    { op: "read", path: path(f), off: 0, len: f.size + 4096, expect: e },
    { op: "mmap", path: path(f), prot: "r", mapOff: 0, mapLen, off: 0, len: f.size, expect: e },
  ];
}

/** The writes of WRITES into `f`: write(), then a fill through a 2 MiB-aligned shared mapping (PMD faults). */
function writeOps(f: SeededFileSpec): ProbeOp[] {
  const w = WRITES[f.rel];
  const mapOff = Math.floor(w.mmap.off / (2 * MIB)) * 2 * MIB;
  return [
    { op: "write", path: path(f), ...w.write },
    { op: "mmap", path: path(f), prot: "rw", mapOff, mapLen: 2 * MIB, ...w.mmap },
  ];
}

/** Writes the seeded bytes back over the ranges of WRITES. */
function restoreOps(f: SeededFileSpec): ProbeOp[] {
  const w = WRITES[f.rel];
  return [w.write, w.mmap].map((r) => ({ op: "restore", path: path(f), off: r.off, len: r.len, seed: f.seed }));
}

/** Runs probe operations that must all succeed with matching bytes. */
async function mustProbe(ctx: SuiteContext, ops: ProbeOp[], what: string): Promise<void> {
  const res = await runProbe(ctx, ops);
  assert.deepEqual(res.map(outcome), ops.map(() => "ok"), what);
}

/** Mounts with a daemon of the test's own (request log on), runs `f`, and stops it cleanly (else kills it). */
async function withDaemon<T>(ctx: SuiteContext, s: State, name: string, f: (d: Daemon) => Promise<T>): Promise<T> {
  const d = await startDaemon(ctx, s.dev.path, MNT, { name, requestLog: true });
  try {
    const r = await f(d);
    await stopDaemon(ctx, d);
    return r;
  } catch (e) {
    await killDaemon(ctx, d);
    throw e;
  }
}

const tests: Test<State>[] = [
  {
    name: "fmap-and-daxdev-requested-once",
    async run(ctx, s) {
      await withDaemon(ctx, s, "io", async (d) => {
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
      });
    },
  },
  {
    name: "read-write-mmap-see-the-same-bytes",
    async run(ctx, s) {
      await withDaemon(ctx, s, "io", async () => {
        const ops: ProbeOp[] = [];
        for (const f of FILES) {
          ops.push(...readBoth(f, seeded(f)));
          ops.push(...writeOps(f), ...readBoth(f, written(f)));
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
        await mustProbe(
          ctx,
          FILES.flatMap((f) => [...restoreOps(f), ...readBoth(f, seeded(f))]),
          "seeded bytes written back",
        );
      });
    },
  },
  {
    name: "unmount-releases-device",
    async run(ctx, s) {
      await withDaemon(ctx, s, "io", (d) => mustProbe(ctx, FILES.flatMap(writeOps), `writes through ${d.mnt}`));
      // Mount again without any rebind in between (a rebind would clear a leaked holder).
      assert.equal(await daxDriver(ctx, s.dev.dax), "fsdev_dax");
      await withDaemon(ctx, s, "io-again", async () => {
        const ops = FILES.map((f): ProbeOp => ({ op: "read", path: path(f), off: 0, len: f.size, expect: written(f) }));
        assert.deepEqual(
          (await runProbe(ctx, ops)).map(outcome),
          ["ok", "ok"],
          "files read back after re-mount (incl. earlier writes)",
        );
        await mustProbe(ctx, FILES.flatMap(restoreOps), "seeded bytes written back");
      }).catch((e: Error) => {
        throw new Error(`mount of ${s.dev.path} after unmount + daemon exit: ${e.message}`, { cause: e });
      });
      await bindDax(ctx, s.dev.dax, "device_dax");
      assert.equal(await daxDriver(ctx, s.dev.dax), "device_dax", "device re-bound to device_dax after teardown");
      await bindDax(ctx, s.dev.dax, "fsdev_dax");
    },
  },
  {
    name: "raw-device-matches-fmap",
    async run(ctx, s) {
      await withDaemon(ctx, s, "io", () => mustProbe(ctx, FILES.flatMap(writeOps), "writes"));
      await bindDax(ctx, s.dev.dax, "device_dax");
      try {
        const [r] = await runProbe(ctx, [{
          op: "raw",
          dev: s.dev.path,
          files: FILES.map((f) => ({ rel: f.rel, expect: written(f) })),
        }]);
        assert.equal(r.error, undefined, `raw check: ${r.call} ${r.error}`);
        ctx.record({ firstMismatch: r.files });
        assert.deepEqual(r.files, { [SIMPLE.rel]: -1, [INTERLEAVED.rel]: -1 }, "device bytes at the fmap offsets");
      } finally {
        await bindDax(ctx, s.dev.dax, "fsdev_dax");
      }
      await withDaemon(ctx, s, "io", () => mustProbe(ctx, FILES.flatMap(restoreOps), "seeded bytes written back"));
    },
  },
];

export const suite = defineSuite<State>({
  name: "famfs_io",
  description: "GET_FMAP/GET_DAXDEV once per file/device; read, write and mmap match the DAX device; clean release",
  needs: { famfs: true },
  fixture: {
    async setup(ctx) {
      const dev = famfsDevice(ctx);
      const initialDriver = await daxDriver(ctx, dev.dax);
      // Leaves the device bound to fsdev_dax, where every test starts and ends.
      await formatWithFiles(ctx, dev, MNT, FILES);
      return { dev, initialDriver };
    },
    async teardown(ctx, s) {
      await bindDax(ctx, s.dev.dax, s.initialDriver === "fsdev_dax" ? "fsdev_dax" : "device_dax");
    },
  },
  tests,
});
