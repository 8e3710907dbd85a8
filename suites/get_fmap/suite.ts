// GET_FMAP conformance: every validation rule of the profile's contract, with boundary values on both sides, and
// well-formed but hostile maps. The daemon's scenario replaces each case file's map with the case's reply. A
// refused map fails open() with the contract's errno and is asked for again by the next open; an accepted one
// shows its st_size, and read() and a mapping see exactly the device bytes its extents name (compared with a
// snapshot of the raw device taken before the mount), writes land inside the extents and nothing else on the
// device changes. The mount keeps serving a valid file after every case.
import assert from "node:assert/strict";
import type { Fmap } from "../../src/famfs/log.ts";
import { FAMFS_LOG_LEN, FAMFS_LOG_OFFSET } from "../../src/famfs/superblock.ts";
import {
  allows,
  type CaseResult,
  caseTest,
  defineSuite,
  famfsOf,
  must,
  type ProfileContract,
  type SuiteContext,
} from "../contract/mod.ts";
import {
  bindDax,
  type Daemon,
  daxDriver,
  type FamfsDevice,
  famfsDevice,
  formatWithFiles,
  killDaemon,
  outcome,
  type ProbeOp,
  type ProbeResult,
  readRequests,
  type RequestRecord,
  requestsOf,
  runProbe,
  type ScenarioRule,
  type SeededFileSpec,
  startDaemon,
  stopDaemon,
} from "../lib/famfs_guest.ts";
import {
  areas,
  CASES,
  DAXDEV_ERRNO,
  type Device,
  type Expectation,
  type FmapCase,
  layoutOf,
  samples,
  writePlan,
} from "./cases.ts";

const MNT = "/run/lab/gf-mnt";
const SNAPSHOT = "/run/lab/gf-device.snapshot";
const MIB = 1024 * 1024;
const U = 2 * MIB;
const PAGE = 4096;
/** The seeded files that hold the cases' areas (created first: they are low on the device, in the snapshot). */
const AREAS: SeededFileSpec[] = areas().map((a, k) => ({ rel: `area-${a.name}`, size: a.units * U, seed: 700 + k }));
const VALID: SeededFileSpec = { rel: "valid", size: 4 * MIB, seed: 602 };

interface State {
  dev: FamfsDevice;
  initialDriver: string;
  daemon?: Daemon;
  contract: ProfileContract;
  device: Device;
  /** Bytes of the device the snapshot holds (superblock, log, areas). */
  snapshotBytes: number;
  /** Case file -> its nodeid (decimal, as the request log writes it). */
  nodeids: Record<string, string>;
}

const path = (rel: string) => `${MNT}/${rel}`;

const validRead: ProbeOp = { op: "read", path: path(VALID.rel), off: 0, len: 65536, expect: { seed: VALID.seed } };

function opsFor(c: FmapCase, e: Expectation): ProbeOp[] {
  const p = path(c.file);
  switch (e.kind) {
    case "refused":
    case "daxdev":
      return [{ op: "open", path: p }, { op: "open", path: p }, validRead];
    case "accepted": {
      const ranges = samples(e.fmap, e.size);
      const maps: ProbeOp[] = e.size === 0 ? [] : [
        { op: "mapcheck", path: p, snapshot: SNAPSHOT, ranges, via: "read" },
        { op: "mapcheck", path: p, snapshot: SNAPSHOT, ranges, via: "mmap" },
      ];
      // st_size follows the map from the first open on.
      return [
        { op: "open", path: p },
        ...maps,
        { op: "stat", path: p },
        { op: "read", path: p, off: e.size, len: PAGE },
        validRead,
      ];
    }
    case "past-end":
      return [
        { op: "read", path: p, off: 0, len: PAGE },
        { op: "read", path: p, off: e.inside, len: PAGE },
        { op: "mmap", path: p, prot: "r", mapOff: 0, mapLen: 2 * e.inside, off: e.inside, len: 1 },
        validRead,
      ];
  }
}

/** GET_FMAP and GET_DAXDEV requests about one case, from the request log. */
interface Traffic {
  getFmap: number;
  getDaxdev: RequestRecord[];
}

function judge(
  c: FmapCase,
  e: Expectation,
  res: ProbeResult[],
  t: Traffic,
  contract: ProfileContract,
): CaseResult {
  const got = res.map(outcome);
  const observed = `${got.join(", ")}; GET_FMAP x${t.getFmap}`;
  assert.equal(got[got.length - 1], "ok", "the mount still serves a valid file after the case");
  switch (e.kind) {
    case "refused":
      if (e.deviation && got[0] === "ok" && got[1] === "ok") {
        if (!allows(contract, e.deviation)) assert.fail(`map accepted; the contract refuses it with ${e.errno}`);
        return { case: c.name, kind: "deviation", deviation: e.deviation, observed };
      }
      assert.deepEqual(got.slice(0, 2), [`open:${e.errno}`, `open:${e.errno}`], "both opens refused");
      assert.equal(t.getFmap, 2, "a refused map is not cached: each open asks GET_FMAP");
      break;
    case "daxdev": {
      const asked = t.getDaxdev.filter((r) => r.nodeid === String(e.devindex)).length;
      assert.equal(asked, 2, `the map passed: GET_DAXDEV for index ${e.devindex} on each open`);
      assert.equal(t.getFmap, 1, "the map is cached even though GET_DAXDEV failed");
      if (got[0] === "ok" && allows(contract, "daxdev-errors-at-io")) {
        return { case: c.name, kind: "deviation", deviation: "daxdev-errors-at-io", observed };
      }
      assert.deepEqual(got.slice(0, 2), [`open:${e.errno}`, `open:${e.errno}`], "opens fail with the daxdev error");
      break;
    }
    case "accepted":
      assert.ok(got.every((g) => g === "ok"), "every access of an accepted map works");
      assert.equal(res.find((r) => r.op === "stat")?.n, e.size, "st_size is the map's file_size");
      for (const m of res.filter((r) => r.op === "mapcheck")) {
        assert.equal(m.mismatch, -1, "read() and the mapping see the device bytes the extents name");
      }
      assert.equal(res[res.length - 2].n, 0, "read() at file_size returns 0");
      assert.equal(t.getFmap, 1, "an accepted map is asked for once");
      break;
    case "past-end":
      // A kernel may refuse the map at open: nothing is reachable then either.
      if (got[0] !== "ok") assert.match(got[0], /^open:/, "first page of the file");
      else {
        assert.equal(res[0].n, PAGE, "the extent's first page, inside the device, reads");
        assert.ok(res[1].error !== undefined || res[1].n === 0, `no byte past the device end: read ${res[1].n}`);
        assert.notEqual(got[2], "ok", "no mapping access past the device end");
      }
      break;
  }
  return { case: c.name, kind: "pass", observed };
}

async function checkGroup(ctx: SuiteContext, s: State, cases: readonly FmapCase[]): Promise<CaseResult[]> {
  const d = s.daemon!;
  const before = (await readRequests(ctx, d)).length;
  const plan = cases.map((c) => ({ c, e: c.expect(layoutOf(c, s.device), s.contract) }));
  const ops: ProbeOp[] = [];
  const spans = plan.map(({ c, e }) => {
    const own = opsFor(c, e);
    ops.push(...own);
    return [ops.length - own.length, ops.length] as const;
  });
  const res = await runProbe(ctx, ops, { timeoutMs: 600_000 });
  const log = await readRequests(ctx, d);
  return plan.map(({ c, e }, k) => {
    const mine = res.slice(spans[k][0], spans[k][1]);
    const id = s.nodeids[c.file];
    const t = {
      getFmap: requestsOf(log, "GET_FMAP", before).filter((r) => r.nodeid === id).length,
      getDaxdev: requestsOf(log, "GET_DAXDEV", before),
    };
    try {
      return judge(c, e, mine, t, s.contract);
    } catch (err) {
      return { case: c.name, kind: "fail", message: `${(err as Error).message} (got ${mine.map(outcome).join(", ")})` };
    }
  });
}

/** Starts the daemon with every case's reply (device in fsdev_dax mode) and notes the case files' nodeids. */
async function mount(ctx: SuiteContext, s: State): Promise<void> {
  await bindDax(ctx, s.dev.dax, "fsdev_dax");
  s.daemon = await startDaemon(ctx, s.dev.path, MNT, {
    name: "gf",
    profile: famfsOf(ctx).profile,
    requestLog: true,
    scenario: scenario(s.device, s.contract),
  });
  const st = await must(ctx, `stat -c '%n %i' ${CASES.map((c) => path(c.file)).join(" ")}`);
  for (const line of st.trim().split("\n")) {
    const [p, ino] = line.split(" ");
    s.nodeids[p.slice(MNT.length + 1)] = ino;
  }
}

function groupTest(name: string, group: FmapCase["group"]) {
  return caseTest<State, FmapCase>({
    name,
    timeoutMs: 900_000,
    cases: CASES.filter((c) => c.group === group),
    check: checkGroup,
  });
}

function scenario(device: Device, contract: ProfileContract): ScenarioRule[] {
  const rules = CASES.map((c): ScenarioRule => ({
    op: "GET_FMAP",
    file: c.file,
    fmap: c.reply(layoutOf(c, device), contract),
  }));
  // The last valid device index, when it is not the formatted device's 0: no such device.
  const last = contract.fmapDevindexLimit - 1;
  if (last > 0) rules.push({ op: "GET_DAXDEV", nodeid: last, error: DAXDEV_ERRNO });
  return rules;
}

export const suite = defineSuite<State>({
  name: "get_fmap",
  description: "every GET_FMAP rule of the profile's contract at its boundaries; hostile maps reach only their extents",
  needs: { famfs: true, devices: 1 },
  fixture: {
    async setup(ctx) {
      const dev = famfsDevice(ctx);
      const initialDriver = await daxDriver(ctx, dev.dax);
      const files = [...AREAS, VALID, ...CASES.map((c) => ({ rel: c.file, size: PAGE, seed: 0 }))];
      const fmaps = await formatWithFiles(ctx, dev, MNT, files);
      const device: Device = { areas: {}, logOffset: FAMFS_LOG_OFFSET, deviceBytes: dev.bytes };
      let snapshotBytes = FAMFS_LOG_OFFSET + FAMFS_LOG_LEN;
      areas().forEach((a, k) => {
        const f = JSON.parse(fmaps[AREAS[k].rel]) as Fmap;
        if (f.type !== "simple" || f.extents.length !== 1) {
          throw new Error(`area ${AREAS[k].rel} is not one contiguous extent: ${fmaps[AREAS[k].rel]}`);
        }
        device.areas[a.name] = f.extents[0].offset;
        snapshotBytes = Math.max(snapshotBytes, f.extents[0].offset + f.extents[0].len);
      });
      await bindDax(ctx, dev.dax, "device_dax");
      const [snap] = await runProbe(ctx, [{ op: "snapshot", dev: dev.path, file: SNAPSHOT, len: snapshotBytes }]);
      if (snap.error) throw new Error(`device snapshot: ${snap.call} ${snap.error}`);
      const s: State = { dev, initialDriver, contract: famfsOf(ctx).contract, device, snapshotBytes, nodeids: {} };
      await mount(ctx, s);
      return s;
    },
    async teardown(ctx, s) {
      try {
        if (s.daemon) await stopDaemon(ctx, s.daemon);
      } catch (e) {
        await killDaemon(ctx, s.daemon);
        throw e;
      } finally {
        await ctx.exec(`rm -f ${SNAPSHOT}`);
        await bindDax(ctx, s.dev.dax, s.initialDriver === "fsdev_dax" ? "fsdev_dax" : "device_dax");
      }
    },
  },
  tests: [
    groupTest("header-and-reply-length", "header"),
    groupTest("extents", "extents"),
    groupTest("interleaved-extents", "interleave"),
    caseTest<State, { name: string }>({
      name: "writes-stay-inside-the-map",
      timeoutMs: 900_000,
      cases: [{ name: "writes of accepted maps" }, { name: "nothing outside the written extents changed" }],
      async check(ctx, s) {
        const plan = writePlan(s.device, s.contract, MNT);
        const res = await runProbe(ctx, plan.flatMap((p) => p.ops), { timeoutMs: 600_000 });
        const bad = res.map(outcome).map((o, i) => ({ o, i })).filter((x) => x.o !== "ok");
        const d = s.daemon!;
        s.daemon = undefined;
        await stopDaemon(ctx, d);
        await bindDax(ctx, s.dev.dax, "device_dax");
        const [diff] = await runProbe(ctx, [{
          op: "rawdiff",
          dev: s.dev.path,
          snapshot: SNAPSHOT,
          writes: plan.flatMap((p) => p.dev),
        }]);
        const writes: CaseResult = bad.length === 0
          ? { case: "writes of accepted maps", kind: "pass", observed: `${plan.length} maps` }
          : {
            case: "writes of accepted maps",
            kind: "fail",
            message: bad.map((b) => `${plan[Math.floor(b.i / 2)].c.file}: ${b.o}`).join(", "),
          };
        const where = diff.error
          ? {
            case: "nothing outside the written extents changed",
            kind: "fail" as const,
            message: `${diff.call} ${diff.error}`,
          }
          : diff.changed === -1 && diff.mismatch === -1
          ? { case: "nothing outside the written extents changed", kind: "pass" as const }
          : {
            case: "nothing outside the written extents changed",
            kind: "fail" as const,
            message:
              `device offset ${diff.changed} changed outside the writes; first write byte missing at ${diff.mismatch}`,
          };
        // The hostile maps come next, on a new mount.
        await mount(ctx, s);
        return [writes, where];
      },
    }),
    groupTest("overlapping-files", "overlap"),
    groupTest("hostile-maps", "hostile"),
    {
      name: "unmount-after-hostile-maps",
      timeoutMs: 300_000,
      async run(ctx, s) {
        const d = s.daemon!;
        s.daemon = undefined;
        try {
          await stopDaemon(ctx, d);
        } catch (e) {
          await killDaemon(ctx, d);
          throw e;
        }
      },
    },
  ],
});
