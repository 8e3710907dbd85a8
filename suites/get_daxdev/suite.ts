// GET_DAXDEV: one request per new device index and none for known ones (also after a remount); every way a reply
// can be unusable (error, size, index, name, not a DAX device, held elsewhere, device_dax mode) fails the open with
// the errno of the ref contract (posted series: EIO/SIGBUS at access, recorded), leaves no data reachable and the
// mount working; concurrent opens racing for one index agree. Fault replies come from the daemon's scenario: each
// case is a file whose extents are moved to its own device index, so cases do not depend on each other's order.
import assert from "node:assert/strict";
import type { Skip, Suite, SuiteContext, SuiteTest } from "../../src/suite.ts";
import {
  bindDax,
  type Daemon,
  daxDriver,
  type FamfsDevice,
  famfsDevice,
  formatWithFiles,
  killDaemon,
  outcome,
  pickDevice,
  type ProbeOp,
  type ProbeResult,
  readRequests,
  requestsOf,
  runProbe,
  type ScenarioRule,
  type SeededFileSpec,
  sq,
  startDaemon,
  stopDaemon,
  tryStartDaemon,
} from "../lib/famfs_guest.ts";

const MNT = "/run/lab/gd-mnt";
const MNT2 = "/run/lab/gd-mnt2";
const LINK = "/run/lab/gd-dax-link";
const MIB = 1024 * 1024;
const VALID: SeededFileSpec = { rel: "valid", size: 4 * MIB, seed: 201 };
const VALID2: SeededFileSpec = { rel: "sub/valid2", size: 2 * MIB + 4096, seed: 202 };

/** One fault case: file c<idx> has every extent on device index idx; GET_DAXDEV for idx is answered by `rule`. */
interface Case {
  idx: number;
  what: string;
  rule: (env: Env) => Omit<ScenarioRule, "op" | "nodeid">;
  /** errno of open() on the ref kernel. */
  errno: string | ((env: Env) => string);
}

interface Env {
  dev0: FamfsDevice;
  dev1?: FamfsDevice;
  hasDevMem: boolean;
}

/**
 * A real device name for cases where only the reply's shape is wrong (the daemon answers ENODEV for an index other
 * than 0 without a name rule): the second device, or device 0 (then EBUSY if the shape check were missing).
 */
const usable = (e: Env) => (e.dev1 ?? e.dev0).path;

const CASES: Case[] = [
  { idx: 1, what: "error reply", rule: () => ({ error: "ENXIO" }), errno: "ENXIO" },
  // Short reply whose name (NUL included) fits: only the size check can reject it.
  {
    idx: 2,
    what: "short reply",
    rule: (e) => ({ name: usable(e), reply: "short", bytes: 24 + 32 }),
    errno: "EINVAL",
  },
  {
    idx: 3,
    what: "long reply (288 bytes)",
    rule: (e) => ({ name: usable(e), reply: "long", bytes: 8 }),
    errno: "EINVAL",
  },
  {
    idx: 4,
    what: "reply over 4096 bytes",
    rule: (e) => ({ name: usable(e), reply: "long", bytes: 4000 }),
    errno: "EIO",
  },
  { idx: 5, what: "reply index != asked", rule: (e) => ({ name: usable(e), devindex: 6 }), errno: "EINVAL" },
  { idx: 6, what: "reply index >= 24", rule: (e) => ({ name: usable(e), devindex: 30 }), errno: "EINVAL" },
  { idx: 7, what: "unterminated 256-byte name", rule: () => ({ name: "@unterminated" }), errno: "EINVAL" },
  { idx: 8, what: "empty name", rule: () => ({ name: "" }), errno: "EINVAL" },
  { idx: 9, what: "missing path", rule: () => ({ name: "/nonexistent/famfs-dax" }), errno: "ENOENT" },
  { idx: 10, what: "path through a file", rule: () => ({ name: "/etc/hostname/x" }), errno: "ENOTDIR" },
  { idx: 11, what: "regular file", rule: () => ({ name: "@regular" }), errno: "EINVAL" },
  { idx: 12, what: "directory", rule: () => ({ name: "/" }), errno: "EINVAL" },
  { idx: 13, what: "/dev/null", rule: () => ({ name: "/dev/null" }), errno: "ENODEV" },
  { idx: 14, what: "/dev/zero", rule: () => ({ name: "/dev/zero" }), errno: "ENODEV" },
  { idx: 15, what: "/dev/mem", rule: () => ({ name: "/dev/mem" }), errno: (e) => e.hasDevMem ? "ENODEV" : "ENOENT" },
  // The connection already holds device 0 through slot 0.
  { idx: 16, what: "own device through another slot", rule: (e) => ({ name: e.dev0.path }), errno: "EBUSY" },
];
/** Device index whose name is a symlink to the second device (device_dax mode first, then fsdev_dax). */
const LINK_IDX = 17;
/** Device index naming the second device directly once slot LINK_IDX holds it. */
const HELD_IDX = 18;
/** fmap extent device indexes outside the 24-slot table. */
const OUT_OF_RANGE = [24, 40];
/** A file whose fmap extent is moved 4 KiB off the 2 MiB alignment (device 0, otherwise valid). */
const MISALIGNED: SeededFileSpec = { rel: "misaligned", size: 8192, seed: 399 };

const caseFile = (idx: number): SeededFileSpec => ({ rel: `c${idx}`, size: 8192, seed: 300 + idx });
const FILES = [
  VALID,
  VALID2,
  ...[...CASES.map((c) => c.idx), LINK_IDX, HELD_IDX, ...OUT_OF_RANGE].map(caseFile),
  MISALIGNED,
];
const p = (rel: string) => `${MNT}/${rel}`;

interface State {
  env: Env;
  initialDriver1?: string;
  daemon?: Daemon;
  formatted: boolean;
}
const states = new WeakMap<SuiteContext, State>();

function scenario(env: Env): ScenarioRule[] {
  const rules: ScenarioRule[] = [];
  for (const idx of [...CASES.map((c) => c.idx), LINK_IDX, HELD_IDX, ...OUT_OF_RANGE]) {
    rules.push({ op: "GET_FMAP", file: caseFile(idx).rel, devindex: idx });
  }
  rules.push({ op: "GET_FMAP", file: MISALIGNED.rel, shift: 4096 });
  for (const c of CASES) rules.push({ op: "GET_DAXDEV", nodeid: c.idx, ...c.rule(env) });
  rules.push({ op: "GET_DAXDEV", nodeid: LINK_IDX, name: LINK });
  if (env.dev1) rules.push({ op: "GET_DAXDEV", nodeid: HELD_IDX, name: env.dev1.path });
  return rules;
}

async function setup(ctx: SuiteContext): Promise<State | Skip> {
  if (ctx.profile === null) return { skip: "stock kernel: no famfs support" };
  let s = states.get(ctx);
  if (!s) {
    const dev1 = pickDevice(ctx, 1);
    const hasDevMem = (await ctx.exec("test -c /dev/mem")).code === 0;
    s = { env: { dev0: famfsDevice(ctx), dev1, hasDevMem }, formatted: false };
    if (dev1) s.initialDriver1 = await daxDriver(ctx, dev1.dax);
    states.set(ctx, s);
  }
  if (!s.formatted) {
    await formatWithFiles(ctx, s.env.dev0, MNT, FILES);
    s.formatted = true;
  }
  if (!s.daemon) {
    await bindDax(ctx, s.env.dev0.dax, "fsdev_dax");
    if (s.env.dev1) {
      await bindDax(ctx, s.env.dev1.dax, "device_dax");
      await ctx.exec(`ln -sfn ${s.env.dev1.path} ${LINK}`);
    }
    s.daemon = await startDaemon(ctx, s.env.dev0.path, MNT, {
      name: "gd",
      requestLog: true,
      scenario: scenario(s.env),
    });
  }
  return s;
}

function isSkip(x: State | Skip): x is Skip {
  return "skip" in x;
}

/** read() and mmap() of a case file: the two ways data could be reached. */
const accessOps = (rel: string): ProbeOp[] => [
  { op: "read", path: p(rel), off: 0, len: 8192 },
  { op: "mmap", path: p(rel), prot: "r", mapOff: 0, mapLen: 8192, off: 0, len: 8192 },
];

/**
 * Checks that no data was reachable: on the ref kernel open() itself fails with `errno`; on the posted series
 * (errors swallowed) the open may succeed but read() must fail with EIO and the mapping access with SIGBUS.
 */
function assertRefused(ctx: SuiteContext, what: string, errno: string, res: ProbeResult[]): string {
  const got = res.map(outcome);
  if (ctx.profile === "ref") {
    assert.deepEqual(got, [`open:${errno}`, `open:${errno}`], `${what}: open() fails with ${errno}`);
    return "error at open";
  }
  const atOpen = got.every((g) => g === `open:${errno}`);
  const atAccess = got[0] === "read:EIO" && got[1] === "access:SIGBUS";
  assert.ok(atOpen || atAccess, `${what}: ${errno} at open or EIO/SIGBUS at access, got ${got.join(", ")}`);
  return atOpen ? "error at open" : "EIO/SIGBUS at access";
}

/** Runs the access ops for `idxs` and checks each against its expected errno and the request log. */
async function checkCases(ctx: SuiteContext, s: State, cases: Case[]): Promise<void> {
  const d = s.daemon!;
  const before = (await readRequests(ctx, d)).length;
  const ops = cases.flatMap((c) => accessOps(caseFile(c.idx).rel));
  // The mount keeps working for valid files in between.
  ops.push({ op: "read", path: p(VALID.rel), off: 0, len: VALID.size, expect: { seed: VALID.seed } });
  const res = await runProbe(ctx, ops);
  const log = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
  const seen: Record<string, string> = {};
  const failures: string[] = [];
  cases.forEach((c, k) => {
    const errno = typeof c.errno === "string" ? c.errno : c.errno(s.env);
    try {
      seen[`${c.idx} ${c.what}`] = assertRefused(ctx, c.what, errno, res.slice(2 * k, 2 * k + 2));
      // A failed GET_DAXDEV leaves the slot invalid: each of the two opens asks again.
      const asked = log.filter((r) => r.nodeid === String(c.idx)).length;
      assert.equal(asked, 2, `${c.what}: GET_DAXDEV requests for index ${c.idx} over two opens`);
    } catch (e) {
      failures.push((e as Error).message);
    }
  });
  ctx.record({ seen, results: res.map(outcome) });
  assert.equal(outcome(res[res.length - 1]), "ok", "a valid file still reads correctly");
  assert.deepEqual(failures, [], "cases that did not behave as the contract says");
}

function caseTest(name: string, idxs: number[]): SuiteTest {
  return {
    name,
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      await checkCases(ctx, s, CASES.filter((c) => idxs.includes(c.idx)));
    },
  };
}

const tests: SuiteTest[] = [
  {
    name: "known-index-not-requested-again",
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      const ops: ProbeOp[] = [];
      for (let k = 0; k < 2; k++) {
        for (const f of [VALID, VALID2]) {
          ops.push({ op: "read", path: p(f.rel), off: 0, len: f.size, expect: { seed: f.seed } });
        }
      }
      const res = await runProbe(ctx, ops);
      assert.deepEqual(res.map(outcome), ops.map(() => "ok"), "valid files read back");
      const daxdev = requestsOf(await readRequests(ctx, s.daemon!), "GET_DAXDEV");
      // Index 0 was resolved once, by the daemon's own bootstrap (.meta files).
      assert.deepEqual(daxdev.map((r) => r.nodeid), ["0"], "GET_DAXDEV requests (device indexes)");
    },
  },
  caseTest("error-reply", [1]),
  caseTest("reply-size", [2, 3, 4]),
  caseTest("reply-index", [5, 6]),
  {
    name: "fmap-devindex-out-of-range",
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      const before = (await readRequests(ctx, s.daemon!)).length;
      const res = await runProbe(ctx, OUT_OF_RANGE.flatMap((i) => accessOps(caseFile(i).rel)));
      ctx.record({ results: res.map(outcome) });
      OUT_OF_RANGE.forEach((i, k) => assertRefused(ctx, `extent devindex ${i}`, "EINVAL", res.slice(2 * k, 2 * k + 2)));
      const asked = requestsOf(await readRequests(ctx, s.daemon!), "GET_DAXDEV", before);
      assert.deepEqual(asked.map((r) => r.nodeid), [], "no GET_DAXDEV for an index outside the table");
    },
  },
  {
    name: "fmap-extent-misaligned",
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      const res = await runProbe(ctx, accessOps(MISALIGNED.rel));
      ctx.record({ results: res.map(outcome) });
      assertRefused(ctx, "extent offset 4 KiB off 2 MiB alignment", "EINVAL", res);
    },
  },
  caseTest("name-not-usable", [7, 8, 9, 10]),
  caseTest("name-not-a-dax-device", [11, 12, 13, 14, 15]),
  {
    name: "device-held-ebusy",
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      await checkCases(ctx, s, CASES.filter((c) => c.idx === 16));
      // A second famfs mount of the held device: its bootstrap open of .meta/.superblock must fail (EBUSY).
      const r = await tryStartDaemon(ctx, s.env.dev0.path, MNT2, { name: "gd-second", requestLog: true });
      try {
        assert.equal(r.ready, false, "a second mount of a held device cannot serve its metadata");
        if (!r.ready) {
          ctx.record({ secondDaemon: r.output.trim().split("\n").slice(-3) });
          assert.match(r.output, /busy|EBUSY/i, "the second daemon reports the device busy");
        }
      } finally {
        await killDaemon(ctx, r.daemon);
      }
      const [ok] = await runProbe(ctx, [{ op: "read", path: p(VALID.rel), off: 0, len: 65536, expect: { seed: 201 } }]);
      assert.equal(outcome(ok), "ok", "the first mount keeps working");
    },
  },
  {
    name: "device-dax-mode-then-symlink-race",
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      const dev1 = s.env.dev1;
      if (!dev1) return { skip: "needs a second DAX device" };
      const d = s.daemon!;
      const rel = caseFile(LINK_IDX).rel;
      let before = (await readRequests(ctx, d)).length;
      // Device in device_dax mode: fs_dax_get refuses it; the slot stays invalid and the retry asks again.
      const res = await runProbe(ctx, accessOps(rel));
      const seen = assertRefused(ctx, "device_dax mode", "EOPNOTSUPP", res);
      let asked = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
      assert.equal(asked.filter((r) => r.nodeid === String(LINK_IDX)).length, 2, "GET_DAXDEV re-sent after a failure");
      // Fixed: concurrent opens race for the slot; every opener sees the same bytes.
      await bindDax(ctx, dev1.dax, "fsdev_dax");
      before = (await readRequests(ctx, d)).length;
      const N = 6;
      const race = await ctx.exec(
        `for i in $(seq ${N}); do (head -c 8192 ${p(rel)} | sha256sum) > /run/lab/gd-race.$i 2>&1 & done; wait; ` +
          `cat /run/lab/gd-race.*; rm -f /run/lab/gd-race.*`,
        { timeoutMs: 120_000 },
      );
      const lines = race.stdout.trim().split("\n");
      asked = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
      const n = asked.filter((r) => r.nodeid === String(LINK_IDX)).length;
      ctx.record({ deviceDaxMode: seen, racers: N, getDaxdevDuringRace: n, hashes: lines });
      assert.equal(lines.length, N, `every racer finished: ${race.stdout}`);
      assert.ok(lines.every((l) => /^[0-9a-f]{64} {2}-$/.test(l)), `every racer read the file: ${race.stdout}`);
      assert.equal(new Set(lines).size, 1, "every racer saw the same bytes");
      assert.ok(n >= 1 && n <= N, `GET_DAXDEV for index ${LINK_IDX} during the race: ${n}`);
      // The slot is valid now: never asked again; the device is held, so naming it for another index: EBUSY.
      before = (await readRequests(ctx, d)).length;
      const after = await runProbe(ctx, [
        { op: "read", path: p(rel), off: 0, len: 8192 },
        ...accessOps(caseFile(HELD_IDX).rel),
      ]);
      assert.equal(outcome(after[0]), "ok", "a later open of the file works");
      assert.equal(after[0].n, 8192);
      assertRefused(ctx, "device held through another slot", "EBUSY", after.slice(1));
      asked = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
      assert.deepEqual(asked.map((r) => r.nodeid), [String(HELD_IDX), String(HELD_IDX)], "GET_DAXDEV after the race");
    },
  },
  {
    name: "remount-one-request-per-index",
    timeoutMs: 900_000,
    async run(ctx) {
      const s = await setup(ctx);
      if (isSkip(s)) return s;
      const d = s.daemon!;
      s.daemon = undefined;
      await stopDaemon(ctx, d).catch(async (e) => {
        await killDaemon(ctx, d);
        throw e;
      });
      const dev1 = s.env.dev1;
      if (dev1) await bindDax(ctx, dev1.dax, "fsdev_dax");
      const rules: ScenarioRule[] = dev1
        ? [
          { op: "GET_FMAP", file: caseFile(LINK_IDX).rel, devindex: 1 },
          { op: "GET_FMAP", file: caseFile(HELD_IDX).rel, devindex: 1 },
          { op: "GET_DAXDEV", nodeid: 1, name: dev1.path },
        ]
        : [];
      const d2 = await startDaemon(ctx, s.env.dev0.path, MNT, {
        name: "gd-remount",
        requestLog: true,
        scenario: rules,
      });
      try {
        const files = [VALID, VALID2, ...(dev1 ? [caseFile(LINK_IDX), caseFile(HELD_IDX)] : [])];
        const ops: ProbeOp[] = [];
        for (let k = 0; k < 2; k++) {
          for (const f of files) ops.push({ op: "read", path: p(f.rel), off: 0, len: Math.min(f.size, 65536) });
        }
        const res = await runProbe(ctx, ops);
        assert.deepEqual(res.map(outcome), ops.map(() => "ok"), "files on both devices read after remount");
        const daxdev = requestsOf(await readRequests(ctx, d2), "GET_DAXDEV");
        assert.deepEqual(
          daxdev.map((r) => r.nodeid),
          dev1 ? ["0", "1"] : ["0"],
          "one GET_DAXDEV per device index over several files and opens",
        );
        await stopDaemon(ctx, d2);
      } catch (e) {
        await killDaemon(ctx, d2);
        throw e;
      }
      await bindDax(ctx, s.env.dev0.dax, "device_dax");
      if (dev1 && s.initialDriver1 === "device_dax") await bindDax(ctx, dev1.dax, "device_dax");
      await ctx.exec(`rm -f ${sq(LINK)}`);
    },
  },
];

export const suite: Suite = {
  name: "get_daxdev",
  description: "GET_DAXDEV requested once per index; every unusable reply fails the open cleanly (ref errnos)",
  tests,
};
