// famfs on two hosts sharing one memory device (topology multihost): host A, the master (its system UUID is the
// superblock's), formats the device and creates directories and seeded files; host B, a client (another system
// UUID), mounts with a daemon of its own, replays the log and serves the same tree read-only. B sees the same tree
// and sizes, reads the same bytes through read() and mmap(), cannot write (root included), sees files A creates
// after B mounted once its daemon replays the log again, and keeps reading its files while A appends.
import assert from "node:assert/strict";
import { defineSuite, must, onPeer, type SuiteContext, type Test } from "../contract/mod.ts";
import {
  bindDax,
  createFiles,
  type Daemon,
  famfsCli,
  type FamfsDevice,
  famfsDevice,
  killDaemon,
  outcome,
  type ProbeOp,
  runProbe,
  type SeededFileSpec,
  startDaemon,
  stopDaemon,
} from "../lib/famfs_guest.ts";

const MNT = "/run/lab/mh-mnt";
const MIB = 1024 * 1024;
// Each host's famfs system UUID: A's is recorded by mkfs, so A is the master and B a client.
const MASTER_UUID = "6d1c2a3e-0a11-4c5e-9a7b-1f0000000a0a";
const CLIENT_UUID = "6d1c2a3e-0a11-4c5e-9a7b-1f0000000b0b";

const FILES: SeededFileSpec[] = [
  { rel: "a/simple", size: 3 * MIB + 4321, seed: 201 },
  { rel: "a/sub/small", size: 5000, seed: 202 },
  { rel: "striped", size: 8 * MIB, seed: 203, interleave: { nstrips: 2, chunk: 2 * MIB } },
];
/** Created by A after B mounted. */
const LATE: SeededFileSpec = { rel: "late/one", size: 2 * MIB + 17, seed: 211 };
/** Created by A while B reads. */
const DURING: SeededFileSpec[] = [1, 2, 3].map((k) => ({ rel: `during/f${k}`, size: MIB + k, seed: 220 + k }));

interface State {
  /** The two hosts' contexts are rebuilt per test (they carry its signal); these are what stays. */
  devA: FamfsDevice;
  devB: FamfsDevice;
  master: Daemon;
  client: Daemon;
}

/** A host's view of the test: every command runs with that host's famfs system UUID. */
function withUuid(ctx: SuiteContext, uuid: string): SuiteContext {
  return { ...ctx, exec: (c, o) => ctx.exec(`export FAMFS_SYSTEM_UUID=${uuid}; ${c}`, o) };
}
const hostA = (ctx: SuiteContext) => withUuid(ctx, MASTER_UUID);
function hostB(ctx: SuiteContext): SuiteContext {
  const peer = ctx.peers[0];
  if (!peer) throw new Error(`topology ${ctx.guest.topology} has no second host`);
  return withUuid(onPeer(ctx, peer), CLIENT_UUID);
}

const path = (f: SeededFileSpec) => `${MNT}/${f.rel}`;

/** read() of the whole file and a read-only shared mapping of it, both compared with the seeded bytes. */
function readOps(f: SeededFileSpec): ProbeOp[] {
  const expect = { seed: f.seed, patches: [] };
  const mapLen = Math.ceil(f.size / (2 * MIB)) * 2 * MIB;
  return [
    { op: "read", path: path(f), off: 0, len: f.size + 4096, expect },
    { op: "mmap", path: path(f), prot: "r", mapOff: 0, mapLen, off: 0, len: f.size, expect },
  ];
}

async function mustRead(ctx: SuiteContext, files: SeededFileSpec[], what: string): Promise<void> {
  const ops = files.flatMap(readOps);
  const res = await runProbe(ctx, ops);
  assert.deepEqual(
    res.map((r, i) => `${ops[i].op} ${"path" in ops[i] ? ops[i].path : ""}: ${outcome(r)}`),
    ops.map((o) => `${o.op} ${"path" in o ? o.path : ""}: ok`),
    what,
  );
}

/** "type size path" of every entry below the mount (the .meta files excepted), sorted. */
async function tree(ctx: SuiteContext): Promise<string[]> {
  const out = await must(ctx, `cd ${MNT} && find . -mindepth 1 -path ./.meta -prune -o -printf '%y %s %P\\n'`);
  return out.trim().split("\n").filter((l) => l).sort();
}

/** The tree the files of `files` make: their directories and their sizes. */
function expectedTree(files: SeededFileSpec[]): string[] {
  const dirs = new Set(files.flatMap((f) => {
    const parts = f.rel.split("/").slice(0, -1);
    return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  }));
  return [...[...dirs].map((d) => `d ${d}`), ...files.map((f) => `f ${f.size} ${f.rel}`)].sort();
}

const tests: Test<State>[] = [
  {
    name: "client-replays-the-same-tree",
    async run(ctx) {
      const a = await tree(hostA(ctx));
      const b = await tree(hostB(ctx));
      // Directory sizes are the daemon's own choice: compare them between hosts, not with a constant.
      const shape = (t: string[]) => t.map((l) => l.startsWith("d ") ? `d ${l.split(" ")[2]}` : l);
      assert.deepEqual(shape(a), expectedTree(FILES), "the master's tree");
      assert.deepEqual(b, a, "the client's tree (types, sizes, paths) is the master's");
      ctx.record({ tree: b });
    },
  },
  {
    name: "client-reads-the-same-bytes",
    async run(ctx) {
      await mustRead(hostA(ctx), FILES, "the master reads the seeded bytes");
      await mustRead(hostB(ctx), FILES, "the client reads the same bytes through read() and mmap()");
    },
  },
  {
    name: "client-cannot-write",
    async run(ctx) {
      const b = hostB(ctx);
      const f = FILES[0];
      const ops: ProbeOp[] = [
        { op: "open", path: path(f), flags: "w" },
        { op: "open", path: path(f), flags: "rw" },
        { op: "write", path: path(f), off: 0, len: 16, byte: 0xee },
        { op: "mmap", path: path(f), prot: "rw", mapOff: 0, mapLen: 2 * MIB, off: 0, len: 16, byte: 0xee },
      ];
      const res = (await runProbe(b, ops)).map(outcome);
      ctx.record({ asRoot: res });
      for (const [i, r] of res.entries()) assert.match(r, /:EROFS$/, `${ops[i].op} by root on the client`);
      const mode = (await must(b, `stat -c %a ${path(f)}`)).trim();
      assert.equal(Number.parseInt(mode, 8) & 0o222, 0, `the client shows ${path(f)} without write bits (${mode})`);
      // The client may not append to the log: neither through its CLI nor by creating through its mount.
      const mkdir = await b.exec(`${famfsCli(ctx)} mkdir ${MNT}/client-dir`);
      assert.notEqual(mkdir.code, 0, "famfs mkdir on the client fails");
      assert.match(mkdir.stderr + mkdir.stdout, /client/, "and says the host is a client");
      const touch = await b.exec(`touch ${MNT}/client-file`);
      assert.notEqual(touch.code, 0, "creating a file through the client's mount fails");
      await mustRead(b, [f], "the file is unchanged after the refused writes");
      await mustRead(hostA(ctx), [f], "the master sees the file unchanged");
      assert.deepEqual(await tree(hostA(ctx)), await tree(b), "no entry appeared on either host");
    },
  },
  {
    name: "files-created-later-appear-after-replay",
    async run(ctx, s) {
      const b = hostB(ctx);
      const before = await b.exec(`stat ${path(LATE)}`);
      assert.notEqual(before.code, 0, `${LATE.rel} does not exist on the client yet`);
      await createFiles(hostA(ctx), s.master, [LATE]);
      // A directory listing makes the client's daemon replay the log entries it has not seen.
      await must(b, `ls ${MNT} ${MNT}/late > /dev/null`);
      const size = (await must(b, `stat -c %s ${path(LATE)}`)).trim();
      assert.equal(Number(size), LATE.size, `${LATE.rel} on the client after replay`);
      await mustRead(b, [LATE], "the client reads the new file's bytes");
      assert.deepEqual(await tree(b), await tree(hostA(ctx)), "the trees agree again");
    },
  },
  {
    name: "client-reads-while-master-appends",
    async run(ctx, s) {
      const rounds = 6;
      const ops = Array.from({ length: rounds }, () => readOps(FILES[0])).flat();
      const t0 = Date.now();
      const span = async <T>(p: Promise<T>) => {
        const r = await p;
        return { r, endMs: Date.now() - t0 };
      };
      // Both start now: the client keeps reading while the master appends entries to the log.
      const [reads, created] = await Promise.all([
        span(runProbe(hostB(ctx), ops, { timeoutMs: 600_000 })),
        span(createFiles(hostA(ctx), s.master, DURING)),
      ]);
      ctx.record({ readsEndMs: reads.endMs, appendsEndMs: created.endMs, reads: ops.length });
      assert.deepEqual(reads.r.map(outcome), ops.map(() => "ok"), "every read on the client while A appends");
      await must(hostB(ctx), `ls ${MNT}/during > /dev/null`);
      await mustRead(hostB(ctx), [FILES[0], ...DURING], "old and new files on the client after the appends");
      const play = await must(hostB(ctx), `${famfsCli(ctx)} logplay ${MNT}`);
      assert.match(play, /role client/, "famfs logplay on B reports the client role");
      ctx.record({ logplay: play.trim().split("\n").pop() });
    },
  },
];

export const suite = defineSuite<State>({
  name: "multihost",
  description: "two hosts on one shared device: master creates, client replays the log and reads read-only",
  needs: { famfs: true, devices: 1, hosts: 2 },
  fixture: {
    async setup(ctx) {
      const a = hostA(ctx), b = hostB(ctx);
      const devA = famfsDevice(a), devB = famfsDevice(b);
      await bindDax(a, devA.dax, "device_dax");
      await must(a, `${famfsCli(a)} mkfs ${devA.path} --force`, 300_000);
      await bindDax(a, devA.dax, "fsdev_dax");
      const master = await startDaemon(a, devA.path, MNT, { name: "mh-master", args: ["--system-uuid", MASTER_UUID] });
      let client: Daemon | undefined;
      try {
        await createFiles(a, master, FILES);
        await bindDax(b, devB.dax, "fsdev_dax");
        client = await startDaemon(b, devB.path, MNT, { name: "mh-client", args: ["--system-uuid", CLIENT_UUID] });
        return { devA, devB, master, client };
      } catch (e) {
        await killDaemon(b, client);
        await killDaemon(a, master);
        throw e;
      }
    },
    async teardown(ctx, s) {
      await stopDaemon(hostB(ctx), s.client, { rebind: { dax: s.devB.dax, driver: "device_dax" } });
      await stopDaemon(hostA(ctx), s.master, { rebind: { dax: s.devA.dax, driver: "device_dax" } });
    },
  },
  tests,
});
