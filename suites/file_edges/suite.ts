// The I/O contract at a famfs file's edges, judged by the kernel's profile contract: reads at, past and across EOF
// and read-until-0 return exactly the file's bytes (a file whose extents end at its size, one with slack after it,
// an interleaved one); writes at or after EOF and O_APPEND writes, truncate/ftruncate, O_TRUNC and fallocate get
// the contract's errnos and change nothing; st_size follows the map; a mapping access past EOF gets SIGBUS.
import assert from "node:assert/strict";
import { caseTest, defineSuite, famfsOf, type ProfileContract, type SuiteContext } from "../contract/mod.ts";
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
  type ProbeResult,
  type ScenarioRule,
  type SeededFileSpec,
  startDaemon,
  stopDaemon,
} from "../lib/famfs_guest.ts";
import { checkProbeCases, type ProbeCase } from "../lib/probe_cases.ts";

const MNT = "/run/lab/fe-mnt";
const MIB = 1024 * 1024;
const PAGE = 4096;
/** Extents end exactly at the size (one 2 MiB unit). */
const EXACT: SeededFileSpec = { rel: "exact", size: 2 * MIB, seed: 501 };
/** Slack after the size inside its last unit, EOF not page aligned. */
const SLACK: SeededFileSpec = { rel: "slack", size: 2 * MIB + 12345, seed: 502 };
/** Two strips of 2 MiB chunks; EOF inside the third chunk. */
const INTERLEAVED: SeededFileSpec = {
  rel: "dir/interleaved",
  size: 4 * MIB + 777,
  seed: 503,
  interleave: { nstrips: 2, chunk: 2 * MIB },
};
/** Its map says file_size 0 with no extents (the scenario replaces its real map): an empty file. */
const EMPTY: SeededFileSpec = { rel: "empty", size: 0, seed: 504 };
/** Its map says a smaller file_size than the log (and GETATTR) does: st_size must follow the map. */
const SHRUNK: SeededFileSpec = { rel: "shrunk", size: 2 * MIB + 100, seed: 505 };
const FILES = [EXACT, SLACK, INTERLEAVED, EMPTY, SHRUNK];
const NON_EMPTY = FILES.filter((f) => f.size > 0);
/** The files as created (famfs files have a size > 0), before the scenario changes two maps. */
const CREATED: SeededFileSpec[] = FILES.map((f) =>
  f === EMPTY ? { ...f, size: PAGE } : f === SHRUNK ? { ...f, size: 2 * MIB + 12345 } : f
);
const SCENARIO: ScenarioRule[] = [
  { op: "GET_FMAP", file: EMPTY.rel, fmap: { header: { file_size: 0 }, extents: [] } },
  { op: "GET_FMAP", file: SHRUNK.rel, fmap: { header: { file_size: SHRUNK.size } } },
];
/** The bytes a write across EOF puts before EOF (it is cut there). */
const ACROSS = { back: 10, len: 100, byte: 0x3c };

interface State {
  dev: FamfsDevice;
  initialDriver: string;
  daemon: Daemon;
  contract: ProfileContract;
  /** What each file holds now (writes across EOF patch its last bytes). */
  expect: Record<string, Expected>;
}

const path = (f: SeededFileSpec) => `${MNT}/${f.rel}`;

const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;

/** An errno outcome the probe reports ("write:EFBIG"), or "ok". */
function want(call: string, errno: string | undefined): string {
  return errno ? `${call}:${errno}` : "ok";
}

/** read()-until-0 of the whole file plus stat: its bytes and its size are what `expect` says. */
function intact(f: SeededFileSpec, s: State): ProbeOp[] {
  return [
    { op: "readall", path: path(f), chunk: MIB + 3, expect: structuredClone(s.expect[f.rel]) },
    { op: "stat", path: path(f) },
  ];
}

function judgeIntact(f: SeededFileSpec, [all, st]: ProbeResult[]): void {
  assert.equal(outcome(all), "ok", `${f.rel}: read() until 0 returns the file's bytes`);
  assert.equal(all.n, f.size, `${f.rel}: bytes before read() returned 0`);
  assert.equal(st.n, f.size, `${f.rel}: st_size`);
}

const SHRUNK_CASE = `${SHRUNK.rel}: st_size follows the map from the first open on`;

const readCases: ProbeCase<State>[] = [
  {
    // First: the daemon has not been asked for this file's map on this mount yet.
    name: SHRUNK_CASE,
    ops: () => [{ op: "stat", path: path(SHRUNK) }, { op: "open", path: path(SHRUNK) }, {
      op: "stat",
      path: path(SHRUNK),
    }],
    judge: (r) => {
      assert.deepEqual(r.map(outcome), ["ok", "ok", "ok"]);
      assert.equal(r[2].n, SHRUNK.size, "st_size after open (the map's file_size)");
      return {
        case: SHRUNK_CASE,
        kind: "pass",
        observed: `st_size ${r[0].n} before open, ${r[2].n} after`,
      };
    },
  },
  ...FILES.flatMap((f): ProbeCase<State>[] => [
    {
      name: `${f.rel}: pread at and past EOF returns 0`,
      ops: () => [
        { op: "read", path: path(f), off: f.size, len: PAGE },
        { op: "read", path: path(f), off: f.size + 2 * MIB, len: PAGE },
      ],
      judge: (r) => assert.deepEqual(r.map((x) => [outcome(x), x.n]), [["ok", 0], ["ok", 0]]),
    },
    ...(f.size > 0
      ? [{
        name: `${f.rel}: pread across EOF returns the short count`,
        ops: (
          s: State,
        ): ProbeOp[] => [{ op: "read", path: path(f), off: f.size - 100, len: PAGE, expect: s.expect[f.rel] }],
        judge: ([r]: ProbeResult[]) => assert.deepEqual([outcome(r), r.n], ["ok", 100]),
      }]
      : []),
    {
      name: `${f.rel}: read() until 0 returns exactly its bytes; st_size follows the map`,
      ops: (s) => intact(f, s),
      judge: (r) => {
        judgeIntact(f, r);
        assert.equal(r[0].reads, Math.ceil(f.size / (MIB + 3)) + 1, "read() calls (the last one returns 0)");
      },
    },
  ]),
];

const writeCases: ProbeCase<State>[] = FILES.flatMap((f): ProbeCase<State>[] => [
  {
    name: `${f.rel}: write() at and after EOF and O_APPEND are refused`,
    ops: () => [
      { op: "write", path: path(f), off: f.size, len: 10, byte: 1 },
      { op: "write", path: path(f), off: f.size + PAGE, len: 10, byte: 2 },
      { op: "append", path: path(f), len: 10, byte: 3 },
    ],
    judge: (r, s) => {
      const e = want("write", s.contract.io.writeAtEof);
      assert.deepEqual(r.map(outcome), [e, e, e]);
    },
  },
  ...(f.size > 0
    ? [{
      name: `${f.rel}: write() across EOF stops at EOF`,
      ops: (): ProbeOp[] => [{
        op: "write",
        path: path(f),
        off: f.size - ACROSS.back,
        len: ACROSS.len,
        byte: ACROSS.byte,
      }],
      judge: ([r]: ProbeResult[]) => assert.deepEqual([outcome(r), r.n], ["ok", ACROSS.back]),
    }]
    : []),
]);

/** What a write across EOF leaves in each file by the contract (the checks after it expect that). */
function patchAcross(s: State): void {
  for (const f of NON_EMPTY) {
    s.expect[f.rel].patches!.push({ off: f.size - ACROSS.back, len: ACROSS.back, byte: ACROSS.byte });
  }
}

/** After the writes: each file's size and bytes (only the bytes before EOF changed). */
const afterWrites: ProbeCase<State>[] = FILES.map((f) => ({
  name: `${f.rel}: unchanged after the refused writes`,
  ops: (s) => intact(f, s),
  judge: (r) => judgeIntact(f, r),
}));

const sizeCases: ProbeCase<State>[] = FILES.flatMap((f): ProbeCase<State>[] => [
  {
    name: `${f.rel}: truncate() and ftruncate() to another size are refused`,
    ops: () => [
      { op: "truncate", path: path(f), size: f.size > 0 ? f.size - 1 : PAGE, how: "path" },
      { op: "truncate", path: path(f), size: f.size + PAGE, how: "fd" },
      { op: "truncate", path: path(f), size: f.size > 0 ? 0 : 2 * PAGE, how: "fd" },
    ],
    judge: (r, s) => {
      const io = s.contract.io;
      assert.deepEqual(r.map(outcome), [
        want("truncate", io.truncate),
        ...[0, 0].map(() => want("ftruncate", io.truncate)),
      ]);
    },
  },
  ...(f.size > 0
    ? [{
      name: `${f.rel}: open(O_TRUNC) is refused`,
      ops: (): ProbeOp[] => [{ op: "opentrunc", path: path(f) }],
      judge: (r: ProbeResult[], s: State) => assert.deepEqual(r.map(outcome), [want("open", s.contract.io.openTrunc)]),
    }]
    : []),
  {
    name: `${f.rel}: fallocate() inside and past EOF is refused`,
    ops: () => [
      { op: "fallocate", path: path(f), off: 0, len: PAGE },
      { op: "fallocate", path: path(f), off: f.size, len: 2 * MIB },
    ],
    judge: (r, s) => {
      const e = want("fallocate", s.contract.io.fallocate);
      assert.deepEqual(r.map(outcome), [e, e]);
    },
  },
]);

const afterSizes: ProbeCase<State>[] = FILES.map((f) => ({
  name: `${f.rel}: unchanged after the refused size changes`,
  ops: (s) => intact(f, s),
  judge: (r) => judgeIntact(f, r),
}));

const mmapCases: ProbeCase<State>[] = FILES.flatMap((f): ProbeCase<State>[] => {
  const mapLen = pageUp(f.size) + PAGE;
  const cases: ProbeCase<State>[] = [{
    name: `${f.rel}: a mapping access past EOF gets SIGBUS`,
    ops: () => [{ op: "mmap", path: path(f), prot: "r", mapOff: 0, mapLen, off: pageUp(f.size), len: 1 }],
    judge: ([r]) => assert.equal(outcome(r), "access:SIGBUS"),
  }];
  if (pageUp(f.size) > f.size) {
    cases.push({
      name: `${f.rel}: the last page maps up to its end`,
      ops: (s) => [
        { op: "mmap", path: path(f), prot: "r", mapOff: 0, mapLen, off: f.size - 10, len: 10, expect: s.expect[f.rel] },
        { op: "mmap", path: path(f), prot: "r", mapOff: 0, mapLen, off: f.size, len: pageUp(f.size) - f.size },
      ],
      judge: (r) => assert.deepEqual(r.map(outcome), ["ok", "ok"]),
    });
  }
  return cases;
});

const PROBE = { timeoutMs: 600_000 };

export const suite = defineSuite<State>({
  name: "file_edges",
  description:
    "reads stop at EOF, writes and size changes at a file's edges get the contract's errnos and change nothing",
  needs: { famfs: true, devices: 1 },
  fixture: {
    async setup(ctx: SuiteContext): Promise<State> {
      const dev = famfsDevice(ctx);
      const initialDriver = await daxDriver(ctx, dev.dax);
      await formatWithFiles(ctx, dev, MNT, CREATED);
      await bindDax(ctx, dev.dax, "fsdev_dax");
      const daemon = await startDaemon(ctx, dev.path, MNT, {
        name: "fe",
        profile: famfsOf(ctx).profile,
        scenario: SCENARIO,
      });
      const expect: Record<string, Expected> = {};
      for (const f of FILES) expect[f.rel] = { seed: f.seed, patches: [] };
      return { dev, initialDriver, daemon, contract: famfsOf(ctx).contract, expect };
    },
    async teardown(ctx, s) {
      try {
        await stopDaemon(ctx, s.daemon);
      } catch (e) {
        await killDaemon(ctx, s.daemon);
        throw e;
      } finally {
        await bindDax(ctx, s.dev.dax, s.initialDriver === "fsdev_dax" ? "fsdev_dax" : "device_dax");
      }
    },
  },
  tests: [
    caseTest<State, ProbeCase<State>>({
      name: "reads-stop-at-eof",
      timeoutMs: 900_000,
      cases: readCases,
      check: (ctx, s, cases) => checkProbeCases(ctx, s, cases, PROBE),
    }),
    caseTest<State, ProbeCase<State>>({
      name: "no-write-at-or-after-eof",
      timeoutMs: 900_000,
      cases: [...writeCases, ...afterWrites],
      check: (ctx, s, cases) => {
        patchAcross(s);
        return checkProbeCases(ctx, s, cases, PROBE);
      },
    }),
    caseTest<State, ProbeCase<State>>({
      name: "no-size-change",
      timeoutMs: 900_000,
      cases: [...sizeCases, ...afterSizes],
      check: (ctx, s, cases) => checkProbeCases(ctx, s, cases, PROBE),
    }),
    caseTest<State, ProbeCase<State>>({
      name: "mmap-past-eof-sigbus",
      timeoutMs: 900_000,
      cases: mmapCases,
      check: (ctx, s, cases) => checkProbeCases(ctx, s, cases, PROBE),
    }),
  ],
});
