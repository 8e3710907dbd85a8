// GET_DAXDEV: one request per new device index and none for known ones (also after a remount); every way a reply
// can be unusable (error, size, index, name, not a DAX device, held elsewhere, device_dax mode) fails the open with
// the errno of the specification (posted series: EIO/SIGBUS at access, a deviation), leaves no data reachable and
// the mount working; concurrent opens racing for one index agree. Fault replies come from the daemon's scenario.
// Where the profile lets an fmap name the case's device index, the case is a file whose extents are moved to that
// index (one daemon, cases independent of each other's order); where it does not (fmaps may name index 0 only,
// which the daemon's own bootstrap fills), the case gets a daemon of its own whose bootstrap GET_DAXDEV is faulted.
import assert from "node:assert/strict";
import { type CaseResult, caseTest, defineSuite, famfsOf, type SuiteContext, type Test } from "../contract/mod.ts";
import {
  accessOps,
  asCase,
  bindDax,
  bootstrapEnd,
  bootstrapWith,
  type Daemon,
  daxDriver,
  type FamfsDevice,
  famfsDevice,
  formatWithFiles,
  judgeAccess,
  judgeBootstrap,
  killDaemon,
  outcome,
  pickDevice,
  type ProbeOp,
  readRequests,
  type Refusal,
  refusalsOutcome,
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
/** Mount point of the daemons of cases that fault the bootstrap's GET_DAXDEV. */
const MNT_CASE = "/run/lab/gd-case";
const LINK = "/run/lab/gd-dax-link";
const MIB = 1024 * 1024;
const VALID: SeededFileSpec = { rel: "valid", size: 4 * MIB, seed: 201 };
const VALID2: SeededFileSpec = { rel: "sub/valid2", size: 2 * MIB + 4096, seed: 202 };

/**
 * One fault case: GET_DAXDEV for device index `idx` is answered by `rule`; file c<idx> has every extent on `idx`
 * (when the profile allows that index; else the case faults a daemon's bootstrap GET_DAXDEV for index 0).
 */
interface Case {
  name: string;
  idx: number;
  rule: (env: Env) => Omit<ScenarioRule, "op" | "nodeid">;
  /** errno of open() the specification requires. */
  errno: string | ((env: Env) => string);
  /** Needs a slot other than the one the daemon's bootstrap fills (not expressible through the bootstrap). */
  otherSlot?: boolean;
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

const CASES: readonly Case[] = [
  { idx: 1, name: "error reply", rule: () => ({ error: "ENXIO" }), errno: "ENXIO" },
  // Short reply whose name (NUL included) fits: only the size check can reject it.
  { idx: 2, name: "short reply", rule: (e) => ({ name: usable(e), reply: "short", bytes: 24 + 32 }), errno: "EINVAL" },
  {
    idx: 3,
    name: "long reply (288 bytes)",
    rule: (e) => ({ name: usable(e), reply: "long", bytes: 8 }),
    errno: "EINVAL",
  },
  {
    idx: 4,
    name: "reply over 4096 bytes",
    rule: (e) => ({ name: usable(e), reply: "long", bytes: 4000 }),
    errno: "EIO",
  },
  { idx: 5, name: "reply index != asked", rule: (e) => ({ name: usable(e), devindex: 6 }), errno: "EINVAL" },
  { idx: 6, name: "reply index >= 24", rule: (e) => ({ name: usable(e), devindex: 30 }), errno: "EINVAL" },
  { idx: 7, name: "unterminated 256-byte name", rule: () => ({ name: "@unterminated" }), errno: "EINVAL" },
  { idx: 8, name: "empty name", rule: () => ({ name: "" }), errno: "EINVAL" },
  { idx: 9, name: "missing path", rule: () => ({ name: "/nonexistent/famfs-dax" }), errno: "ENOENT" },
  { idx: 10, name: "path through a file", rule: () => ({ name: "/etc/hostname/x" }), errno: "ENOTDIR" },
  { idx: 11, name: "regular file", rule: () => ({ name: "@regular" }), errno: "EINVAL" },
  { idx: 12, name: "directory", rule: () => ({ name: "/" }), errno: "EINVAL" },
  { idx: 13, name: "/dev/null", rule: () => ({ name: "/dev/null" }), errno: "ENODEV" },
  { idx: 14, name: "/dev/zero", rule: () => ({ name: "/dev/zero" }), errno: "ENODEV" },
  { idx: 15, name: "/dev/mem", rule: () => ({ name: "/dev/mem" }), errno: (e) => e.hasDevMem ? "ENODEV" : "ENOENT" },
  // The connection already holds device 0 through slot 0.
  {
    idx: 16,
    name: "own device through another slot",
    rule: (e) => ({ name: e.dev0.path }),
    errno: "EBUSY",
    otherSlot: true,
  },
];
const cases = (...idxs: number[]) => CASES.filter((c) => idxs.includes(c.idx));
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
  /** Device indexes an fmap may name on this kernel (contract.fmapDevindexLimit). */
  devindexLimit: number;
  initialDriver1?: string;
  /** The suite's daemon on MNT (replaced by tests that must start from a fresh connection). */
  daemon: Daemon;
}

/** Whether the profile lets a file's extents name index `idx` (else the case goes through a daemon's bootstrap). */
const ownIndex = (s: State, idx: number) => idx < s.devindexLimit;

function scenario(env: Env, devindexLimit: number): ScenarioRule[] {
  const rules: ScenarioRule[] = [];
  for (const idx of [...CASES.map((c) => c.idx), LINK_IDX, HELD_IDX, ...OUT_OF_RANGE]) {
    // Out-of-range indexes are cases of their own; others only where the profile allows the index.
    if (idx < devindexLimit || OUT_OF_RANGE.includes(idx)) {
      rules.push({ op: "GET_FMAP", file: caseFile(idx).rel, devindex: idx });
    }
  }
  rules.push({ op: "GET_FMAP", file: MISALIGNED.rel, shift: 4096 });
  for (const c of CASES) rules.push({ op: "GET_DAXDEV", nodeid: c.idx, ...c.rule(env) });
  rules.push({ op: "GET_DAXDEV", nodeid: LINK_IDX, name: LINK });
  if (env.dev1) rules.push({ op: "GET_DAXDEV", nodeid: HELD_IDX, name: env.dev1.path });
  return rules;
}

/** Starts the suite's daemon on a fresh connection: device 0 fsdev_dax, the second device in device_dax mode. */
async function startSuiteDaemon(ctx: SuiteContext, env: Env, devindexLimit: number): Promise<Daemon> {
  await bindDax(ctx, env.dev0.dax, "fsdev_dax");
  if (env.dev1) {
    await bindDax(ctx, env.dev1.dax, "device_dax");
    await ctx.exec(`ln -sfn ${env.dev1.path} ${LINK}`);
  }
  return await startDaemon(ctx, env.dev0.path, MNT, {
    name: "gd",
    requestLog: true,
    scenario: scenario(env, devindexLimit),
  });
}

/** Gives the suite a fresh daemon (after a test changed the connection's table or stopped the daemon). */
async function renewDaemon(ctx: SuiteContext, s: State, running: Daemon | undefined): Promise<void> {
  if (running) {
    await stopDaemon(ctx, running).catch(async () => await killDaemon(ctx, running));
  }
  s.daemon = await startSuiteDaemon(ctx, s.env, s.devindexLimit);
}

const errnoOf = (c: Case, env: Env) => typeof c.errno === "string" ? c.errno : c.errno(env);

/**
 * Checks cases on the suite's daemon (one probe run): each case's read() and mmap() are refused, each of the two
 * opens asks GET_DAXDEV again (a failed reply leaves the slot invalid), and a valid file still reads.
 */
async function checkOwnIndex(ctx: SuiteContext, s: State, list: readonly Case[]): Promise<CaseResult[]> {
  const d = s.daemon;
  const before = (await readRequests(ctx, d)).length;
  const ops = list.flatMap((c) => accessOps(p(caseFile(c.idx).rel)));
  // The mount keeps working for valid files in between.
  ops.push({ op: "read", path: p(VALID.rel), off: 0, len: VALID.size, expect: { seed: VALID.seed } });
  const res = await runProbe(ctx, ops);
  ctx.record({ results: res.map(outcome) });
  assert.equal(outcome(res[res.length - 1]), "ok", "a valid file still reads correctly");
  const log = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
  return list.map((c, k) => {
    const r = judgeAccess(errnoOf(c, s.env), res.slice(2 * k, 2 * k + 2));
    const asked = log.filter((x) => x.nodeid === String(c.idx)).length;
    if (r.kind !== "fail" && asked !== 2) {
      return { case: c.name, kind: "fail", message: `GET_DAXDEV requests for index ${c.idx} over two opens: ${asked}` };
    }
    return asCase(c.name, r);
  });
}

/** Checks cases through daemons of their own, whose bootstrap GET_DAXDEV (index 0) is answered by the fault. */
async function checkThroughBootstrap(ctx: SuiteContext, s: State, list: readonly Case[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of list) {
    if (c.otherSlot) {
      out.push({
        case: c.name,
        kind: "skip",
        reason: `fmaps may name device index 0 only (limit ${s.devindexLimit}), and a bootstrap's slot 0 cannot ` +
          `be "another slot"`,
      });
      continue;
    }
    const end = await bootstrapWith(ctx, s.env.dev0.path, MNT_CASE, c.rule(s.env), { name: "gd-case" });
    out.push(asCase(c.name, judgeBootstrap(errnoOf(c, s.env), end)));
  }
  // The suite's mount keeps working.
  const [ok] = await runProbe(ctx, [{
    op: "read",
    path: p(VALID.rel),
    off: 0,
    len: 65536,
    expect: { seed: VALID.seed },
  }]);
  assert.equal(outcome(ok), "ok", "a valid file still reads correctly");
  return out;
}

async function checkCases(ctx: SuiteContext, s: State, list: readonly Case[]): Promise<CaseResult[]> {
  const own = list.filter((c) => ownIndex(s, c.idx));
  const boot = list.filter((c) => !ownIndex(s, c.idx));
  return [
    ...(own.length ? await checkOwnIndex(ctx, s, own) : []),
    ...(boot.length ? await checkThroughBootstrap(ctx, s, boot) : []),
  ];
}

function refusalCases(name: string, list: readonly Case[]): Test<State> {
  return caseTest<State, Case>({ name, cases: list, check: checkCases });
}

const tests: Test<State>[] = [
  {
    name: "known-index-not-requested-again",
    // The first test carries the fixture's setup (mkfs, 24 files, two daemon starts): 55 s measured on CXL/KVM.
    timeoutMs: 180_000,
    async run(ctx, s) {
      const before = (await readRequests(ctx, s.daemon)).length;
      const ops: ProbeOp[] = [];
      for (let k = 0; k < 2; k++) {
        for (const f of [VALID, VALID2]) {
          ops.push({ op: "read", path: p(f.rel), off: 0, len: f.size, expect: { seed: f.seed } });
        }
      }
      const res = await runProbe(ctx, ops);
      assert.deepEqual(res.map(outcome), ops.map(() => "ok"), "valid files read back");
      const log = await readRequests(ctx, s.daemon);
      assert.deepEqual(requestsOf(log, "GET_DAXDEV", before).map((r) => r.nodeid), [], "GET_DAXDEV during the reads");
      // Index 0 was resolved once, by the daemon's own bootstrap (.meta files).
      assert.deepEqual(
        requestsOf(log, "GET_DAXDEV").filter((r) => r.nodeid === "0").map((r) => r.nodeid),
        ["0"],
        "GET_DAXDEV requests for index 0 over the connection's lifetime",
      );
    },
  },
  refusalCases("error-reply", cases(1)),
  refusalCases("reply-size", cases(2, 3, 4)),
  refusalCases("reply-index", cases(5, 6)),
  {
    name: "fmap-devindex-out-of-range",
    async run(ctx, s) {
      const before = (await readRequests(ctx, s.daemon)).length;
      const res = await runProbe(ctx, OUT_OF_RANGE.flatMap((i) => accessOps(p(caseFile(i).rel))));
      ctx.record({ results: res.map(outcome) });
      // A bad fmap fails the open on every profile (GET_FMAP validation, before any GET_DAXDEV).
      OUT_OF_RANGE.forEach((i, k) => {
        const r = judgeAccess("EINVAL", res.slice(2 * k, 2 * k + 2));
        assert.equal(r.kind, "pass", `extent devindex ${i}: ${r.kind === "fail" ? r.message : r.observed}`);
      });
      const asked = requestsOf(await readRequests(ctx, s.daemon), "GET_DAXDEV", before);
      assert.deepEqual(asked.map((r) => r.nodeid), [], "no GET_DAXDEV for an index outside the table");
    },
  },
  {
    name: "fmap-extent-misaligned",
    async run(ctx) {
      const res = await runProbe(ctx, accessOps(p(MISALIGNED.rel)));
      ctx.record({ results: res.map(outcome) });
      const r = judgeAccess("EINVAL", res);
      const what = "extent offset 4 KiB off 2 MiB alignment";
      assert.equal(r.kind, "pass", `${what}: ${r.kind === "fail" ? r.message : r.observed}`);
    },
  },
  refusalCases("name-not-usable", cases(7, 8, 9, 10)),
  refusalCases("name-not-a-dax-device", cases(11, 12, 13, 14, 15)),
  {
    name: "device-held-ebusy",
    async run(ctx, s) {
      const [own] = await checkCases(ctx, s, cases(16));
      ctx.record({ ownDeviceThroughAnotherSlot: own });
      if (own.kind === "fail") assert.fail(`${own.case}: ${own.message}`);
      // A second famfs mount of the held device: its bootstrap open of .meta/.superblock must fail (EBUSY).
      const r = await tryStartDaemon(ctx, s.env.dev0.path, MNT2, { name: "gd-second", requestLog: true });
      let second: Refusal;
      try {
        assert.equal(r.ready, false, "a second mount of a held device cannot serve its metadata");
        const out = r.ready ? "" : r.output;
        ctx.record({ secondDaemon: out.trim().split("\n").slice(-3) });
        second = judgeBootstrap("EBUSY", bootstrapEnd(r.ready ? 0 : r.exitCode, out));
        if (second.kind === "pass") assert.match(out, /busy|EBUSY/i, "the second daemon reports the device busy");
      } finally {
        await killDaemon(ctx, r.daemon);
      }
      const [ok] = await runProbe(ctx, [{ op: "read", path: p(VALID.rel), off: 0, len: 65536, expect: { seed: 201 } }]);
      assert.equal(outcome(ok), "ok", "the first mount keeps working");
      const ownRefusal: Array<[string, Refusal]> = own.kind === "deviation"
        ? [[own.case, { kind: "deviation", deviation: own.deviation, observed: own.observed }]]
        : [];
      return refusalsOutcome([...ownRefusal, ["second mount of the held device", second]]);
    },
  },
  {
    name: "device-dax-mode-then-symlink-race",
    needs: { devices: 2 },
    async run(ctx, s) {
      if (!ownIndex(s, HELD_IDX)) {
        // The device_dax-mode refusal can still be checked, through a daemon's bootstrap.
        const end = await bootstrapWith(ctx, s.env.dev0.path, MNT_CASE, { name: LINK }, { name: "gd-case" });
        const daxMode = judgeBootstrap("EOPNOTSUPP", end);
        ctx.record({ deviceDaxMode: daxMode });
        if (daxMode.kind === "fail") assert.fail(`device_dax mode: ${daxMode.message}`);
        return {
          kind: "skip",
          reason: `device_dax-mode refusal checked (${daxMode.observed}); the race and the held device are not ` +
            `expressible: fmaps may name device index 0 only (limit ${s.devindexLimit}), which the daemon's ` +
            `bootstrap fills before any open, so there is no empty slot to race for and no second slot`,
        };
      }
      const dev1 = s.env.dev1!;
      const d = s.daemon;
      const rel = caseFile(LINK_IDX).rel;
      try {
        let before = (await readRequests(ctx, d)).length;
        // Device in device_dax mode: fs_dax_get refuses it; the slot stays invalid and the retry asks again.
        const res = await runProbe(ctx, accessOps(p(rel)));
        const daxMode = judgeAccess("EOPNOTSUPP", res);
        let asked = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
        assert.equal(
          asked.filter((r) => r.nodeid === String(LINK_IDX)).length,
          2,
          "GET_DAXDEV re-sent after a failure",
        );
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
        ctx.record({ deviceDaxMode: daxMode, racers: N, getDaxdevDuringRace: n, hashes: lines });
        assert.equal(lines.length, N, `every racer finished: ${race.stdout}`);
        assert.ok(lines.every((l) => /^[0-9a-f]{64} {2}-$/.test(l)), `every racer read the file: ${race.stdout}`);
        assert.equal(new Set(lines).size, 1, "every racer saw the same bytes");
        assert.ok(n >= 1 && n <= N, `GET_DAXDEV for index ${LINK_IDX} during the race: ${n}`);
        // The slot is valid now: never asked again; the device is held, so naming it for another index: EBUSY.
        before = (await readRequests(ctx, d)).length;
        const after = await runProbe(ctx, [
          { op: "read", path: p(rel), off: 0, len: 8192 },
          ...accessOps(p(caseFile(HELD_IDX).rel)),
        ]);
        assert.equal(outcome(after[0]), "ok", "a later open of the file works");
        assert.equal(after[0].n, 8192);
        const held = judgeAccess("EBUSY", after.slice(1));
        asked = requestsOf(await readRequests(ctx, d), "GET_DAXDEV", before);
        assert.deepEqual(asked.map((r) => r.nodeid), [String(HELD_IDX), String(HELD_IDX)], "GET_DAXDEV after the race");
        return refusalsOutcome([["device_dax mode", daxMode], ["device held through another slot", held]]);
      } finally {
        // Slot LINK_IDX now holds the second device: later tests get a fresh connection.
        await renewDaemon(ctx, s, d);
      }
    },
  },
  {
    name: "remount-one-request-per-index",
    async run(ctx, s) {
      let d2: Daemon | undefined;
      try {
        await stopDaemon(ctx, s.daemon);
        // Files on a second device index when the profile allows one.
        const dev1 = ownIndex(s, 1) ? s.env.dev1 : undefined;
        if (dev1) await bindDax(ctx, dev1.dax, "fsdev_dax");
        const rules: ScenarioRule[] = dev1
          ? [
            { op: "GET_FMAP", file: caseFile(LINK_IDX).rel, devindex: 1 },
            { op: "GET_FMAP", file: caseFile(HELD_IDX).rel, devindex: 1 },
            { op: "GET_DAXDEV", nodeid: 1, name: dev1.path },
          ]
          : [];
        d2 = await startDaemon(ctx, s.env.dev0.path, MNT, { name: "gd-remount", requestLog: true, scenario: rules });
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
        d2 = undefined;
      } finally {
        // stopDaemon kills what it cannot stop; the suite's daemon is gone either way.
        if (d2) await killDaemon(ctx, d2);
        s.daemon = await startSuiteDaemon(ctx, s.env, s.devindexLimit);
      }
    },
  },
];

export const suite = defineSuite<State>({
  name: "get_daxdev",
  description: "GET_DAXDEV requested once per index; every unusable reply fails the open cleanly (spec errnos)",
  needs: { famfs: true },
  fixture: {
    async setup(ctx) {
      const dev1 = pickDevice(ctx, 1);
      const env: Env = { dev0: famfsDevice(ctx), dev1, hasDevMem: (await ctx.exec("test -c /dev/mem")).code === 0 };
      const devindexLimit = famfsOf(ctx).contract.fmapDevindexLimit;
      const initialDriver1 = dev1 ? await daxDriver(ctx, dev1.dax) : undefined;
      await formatWithFiles(ctx, env.dev0, MNT, FILES);
      const daemon = await startSuiteDaemon(ctx, env, devindexLimit);
      return { env, devindexLimit, initialDriver1, daemon };
    },
    async teardown(ctx, s) {
      await stopDaemon(ctx, s.daemon).catch(async () => await killDaemon(ctx, s.daemon));
      await bindDax(ctx, s.env.dev0.dax, "device_dax");
      const dev1 = s.env.dev1;
      if (dev1 && s.initialDriver1 === "device_dax") await bindDax(ctx, dev1.dax, "device_dax");
      await ctx.exec(`rm -f ${sq(LINK)}`);
    },
  },
  tests,
});
