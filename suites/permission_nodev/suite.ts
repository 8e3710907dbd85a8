// Permissions around famfs devices and files: a DAX node on a nodev mount (by flag or by superblock) is refused
// at open, unprivileged users cannot make nodes, the server needs CAP_SYS_RAWIO exactly where the profile says so,
// and file mode, owner and group bits hold for other users on open, read, write and mmap, and a client host cannot
// write files.
import assert from "node:assert/strict";
import { defineSuite, famfsOf, must, skip, type SuiteContext, type Test } from "../contract/mod.ts";
import {
  bindDax,
  bootstrapWith,
  daxDriver,
  ERRORS_AT_IO,
  type FamfsDevice,
  famfsDevice,
  judgeBootstrap,
  killDaemon,
  prepareFs,
  type ProbeOp,
  type ProbeResult,
  type Refusal,
  refusalsOutcome,
  runProbe,
  type SeededFileSpec,
  startDaemon,
  stopDaemon,
  tryStartDaemon,
} from "../lib/famfs_guest.ts";

const MNT = "/run/lab/perm-mnt";
const TWO_MIB = 2 * 1024 * 1024;
const F: SeededFileSpec = { rel: "f", size: 4 * 1024 * 1024, seed: 11 };
const RO: SeededFileSpec = { rel: "ro", size: TWO_MIB, seed: 12 };
const P600: SeededFileSpec = { rel: "p600", size: TWO_MIB, seed: 13 };
const GRP: SeededFileSpec = { rel: "grp", size: TWO_MIB, seed: 14 };
const IN_DIR: SeededFileSpec = { rel: "d/g", size: TWO_MIB, seed: 15 };
const FILES = [F, RO, P600, GRP, IN_DIR];
/** Acting as another user: uid/gid 1000 without supplementary groups; its own Deno cache. */
const OTHER_USER = "env DENO_DIR=/tmp/deno-u1000 HOME=/tmp setpriv --reuid=1000 --regid=1000 --clear-groups";

interface State {
  dev: FamfsDevice;
  /** Driver of the device before the suite (restored by the fixture's teardown). */
  initialDriver: string;
}

/** Mounts the suite's device; it is bound to fsdev_dax already unless a failed test left it otherwise. */
async function mount(ctx: SuiteContext, s: State, opts: Parameters<typeof startDaemon>[3] = {}) {
  await bindDax(ctx, s.dev.dax, "fsdev_dax");
  return await startDaemon(ctx, s.dev.path, MNT, opts);
}

const byIndex = (res: ProbeResult[], i: number) => res.find((r) => r.i === i);

/**
 * Presents the device node `name` in a GET_DAXDEV reply and returns where the refusal showed. Where fmaps may name
 * index 1, `f` is opened with GET_FMAP rewritten to devindex 1 and GET_DAXDEV for slot 1 answered with `name` (slot
 * 0 is already valid from the daemon's own .meta opens); where they may name index 0 only, the daemon's own
 * bootstrap GET_DAXDEV (slot 0) is answered with `name`.
 */
async function presentNode(ctx: SuiteContext, s: State, name: string): Promise<Refusal> {
  if (famfsOf(ctx).contract.fmapDevindexLimit < 2) {
    const end = await bootstrapWith(ctx, s.dev.path, MNT, { name }, { name: "perm-bootstrap" });
    ctx.record({ bootstrap: end });
    return judgeBootstrap("EACCES", end);
  }
  const reqLog = "/run/lab/perm-requests.jsonl";
  await must(ctx, `rm -f ${reqLog}`);
  const d = await mount(ctx, s, {
    // GET_FMAP #0 and #1 are the daemon's .meta/.superblock and .meta/.log; #2 is the probe's open of f.
    scenario: [{ op: "GET_FMAP", index: 2, devindex: 1 }, { op: "GET_DAXDEV", index: 1, name }],
    requestLog: reqLog,
  });
  let res: ProbeResult[];
  try {
    res = await runProbe(ctx, [
      { op: "open", path: `${MNT}/${F.rel}`, flags: "r", id: "f" },
      { op: "read", fd: "f", off: 0, len: 4096, expect: { seed: F.seed } },
      { op: "map", fd: "f", id: "m", len: TWO_MIB, prot: "r" },
      { op: "touch", map: "m", off: 0, len: 4096, expect: { seed: F.seed } },
    ]);
    await stopDaemon(ctx, d);
  } catch (e) {
    await killDaemon(ctx, d);
    throw e;
  }
  const requests = (await must(ctx, `cat ${reqLog}`)).trim().split("\n").map((l) => JSON.parse(l));
  const getDaxdev = requests.filter((r) => r.op === "GET_DAXDEV").map((r) => ({ nodeid: r.nodeid, rules: r.rules }));
  ctx.record({ getDaxdev });
  assert.ok(
    getDaxdev.some((r) => r.nodeid === "1" && r.rules.includes(1)),
    `the probe's open sent GET_DAXDEV for slot 1 answered with ${name}: ${JSON.stringify(getDaxdev)}`,
  );
  const open = byIndex(res, 0)!;
  if (open.error) {
    return open.error === "EACCES"
      ? { kind: "pass", observed: "open:EACCES" }
      : { kind: "fail", message: `open() failed with ${open.error}, want EACCES` };
  }
  // Posted-series behaviour: the error is swallowed at open; I/O must then fail.
  const read = byIndex(res, 1), touch = byIndex(res, 3);
  if (read?.error === "EIO" || touch?.error === "SIGBUS") {
    return {
      kind: "deviation",
      deviation: ERRORS_AT_IO,
      observed: `open:ok read:${read?.error ?? "ok"} mmap:${touch?.error ?? "ok"}`,
    };
  }
  return {
    kind: "fail",
    message: `open() succeeded, so read must fail with EIO or the mapping fault with SIGBUS: ${JSON.stringify(res)}`,
  };
}

async function devNumbers(ctx: SuiteContext, s: State): Promise<string> {
  return (await must(ctx, `stat -c '%Hr %Lr' ${s.dev.path}`)).trim();
}

const nodevTmpfs: Test<State> = {
  name: "nodev-tmpfs-node-refused",
  // The first test carries the fixture's setup (mkfs, five files): 27 s measured on CXL/KVM.
  timeoutMs: 120_000,
  async run(ctx, s) {
    // The daemon's @nodev preset: a node with the device's dev_t on a tmpfs mounted MS_NODEV.
    const r = await presentNode(ctx, s, "@nodev");
    ctx.record({ refusal: r });
    return refusalsOutcome([["device node @nodev", r]]);
  },
};

const nodevSuperblock: Test<State> = {
  name: "userns-superblock-nodev-node-refused",
  async run(ctx, s) {
    // A tmpfs mounted inside a user namespace gets SB_I_NODEV without MNT_NODEV on the mount.
    const start = await ctx.exec(
      `mkdir -p /tmp/perm-uns && (setsid unshare -U -r -m --propagation private sh -c ` +
        `'mount -t tmpfs -o size=64k none /tmp/perm-uns && touch /tmp/perm-uns/mounted && exec sleep 600' ` +
        `> /run/lab/perm-uns.log 2>&1 < /dev/null & echo $! > /run/lab/perm-uns.pid); sleep 1; ` +
        `p=$(cat /run/lab/perm-uns.pid); for i in $(seq 100); do test -e /proc/$p/root/tmp/perm-uns/mounted && ` +
        `{ echo $p; exit 0; }; kill -0 $p 2>/dev/null || break; sleep 0.1; done; cat /run/lab/perm-uns.log; exit 1`,
      { timeoutMs: 30_000 },
    );
    if (start.code !== 0) {
      return skip(`cannot mount a tmpfs in a new user namespace: ${(start.stdout + start.stderr).trim()}`);
    }
    const pid = start.stdout.trim().split("\n").pop();
    try {
      const [maj, min] = (await devNumbers(ctx, s)).split(" ");
      // Root of the initial namespace makes the node (CAP_MKNOD) through the namespace's root.
      const node = `/proc/${pid}/root/tmp/perm-uns/dax`;
      await must(ctx, `mknod ${node} c ${maj} ${min}`);
      const opts = (await must(ctx, `awk '$5 == "/tmp/perm-uns" { print $6 }' /proc/${pid}/mountinfo`)).trim();
      ctx.record({ mountOptions: opts });
      assert.ok(!opts.split(",").includes("nodev"), `the userns tmpfs mount is not MNT_NODEV (${opts})`);
      const r = await presentNode(ctx, s, node);
      ctx.record({ refusal: r });
      return refusalsOutcome([[`device node ${node}`, r]]);
    } finally {
      await ctx.exec(`kill ${pid}; rmdir /tmp/perm-uns`);
    }
  },
};

const unprivilegedNode: Test<State> = {
  name: "unprivileged-user-cannot-make-node",
  async run(ctx, s) {
    // A node made by an unprivileged user could be presented to famfs only if mknod worked for it.
    const [maj, min] = (await devNumbers(ctx, s)).split(" ");
    const mk = `mknod /tmp/perm-u1000-dax c ${maj} ${min}`;
    const plain = await ctx.exec(`${OTHER_USER} ${mk}`);
    const inUserns = await ctx.exec(
      `${OTHER_USER} unshare -U -r -m sh -c 'mount -t tmpfs none /tmp && ${mk}'`,
    );
    await ctx.exec("rm -f /tmp/perm-u1000-dax");
    ctx.record({ plain: plain.stderr.trim(), inUserns: inUserns.stderr.trim() });
    assert.notEqual(plain.code, 0, "uid 1000 made a device node");
    assert.match(plain.stderr, /Operation not permitted/, "mknod by uid 1000 fails with EPERM");
    assert.notEqual(inUserns.code, 0, "uid 1000 made a device node inside its own user namespace");
  },
};

const noRawio: Test<State> = {
  name: "daemon-without-cap-sys-rawio",
  async run(ctx, s) {
    const wrap = "setpriv --bounding-set=-sys_rawio";
    if (famfsOf(ctx).contract.serverNeedsRawio) {
      // The kernel offers famfs in INIT only to a server with CAP_SYS_RAWIO: the daemon cannot mount.
      await bindDax(ctx, s.dev.dax, "fsdev_dax");
      const r = await tryStartDaemon(ctx, s.dev.path, MNT, { wrap });
      await killDaemon(ctx, r.daemon);
      assert.equal(r.ready, false, "a daemon without CAP_SYS_RAWIO mounted famfs on a kernel that requires it");
      const out = r.ready ? "" : r.output;
      ctx.record({ daemonWithoutRawio: out.trim().split("\n").slice(-2) });
      assert.match(out, /does not offer FUSE_DAX_FMAP|INIT refused/, "the kernel did not offer famfs in INIT");
      return;
    }
    const d = await mount(ctx, s, { wrap });
    try {
      const capEff = (await must(ctx, `awk '/^CapEff/ { print $2 }' /proc/${d.pid}/status`)).trim();
      const rawio = (BigInt(`0x${capEff}`) >> 17n) & 1n;
      assert.equal(rawio, 0n, `daemon CapEff ${capEff} still has CAP_SYS_RAWIO`);
      const res = await runProbe(ctx, [
        { op: "open", path: `${MNT}/${F.rel}`, flags: "rw", id: "f" },
        { op: "read", fd: "f", off: TWO_MIB, len: 65536, expect: { seed: F.seed } },
        { op: "map", fd: "f", id: "m", len: F.size, prot: "r" },
        { op: "touch", map: "m", off: 0, len: F.size, expect: { seed: F.seed } },
      ]);
      ctx.record({ daemonCapEff: capEff, results: res });
      // The profile does not check the server's CAP_SYS_RAWIO (contract.serverNeedsRawio).
      assert.deepEqual(res.map((r) => r.error), [undefined, undefined, undefined, undefined], JSON.stringify(res));
      assert.equal(byIndex(res, 1)!.mismatch, -1, "read() bytes");
      assert.equal(byIndex(res, 3)!.mismatch, -1, "mmap bytes");
      await stopDaemon(ctx, d);
    } catch (e) {
      await killDaemon(ctx, d);
      throw e;
    }
  },
};

const modeBits: Test<State> = {
  name: "mode-owner-group-enforced-for-other-users",
  async run(ctx, s) {
    const d = await mount(ctx, s);
    try {
      await must(
        ctx,
        `chmod 0444 ${MNT}/ro && chmod 0600 ${MNT}/p600 && chown 0:1000 ${MNT}/grp && chmod 0640 ${MNT}/grp && ` +
          `chmod 0700 ${MNT}/d && chmod 0644 ${MNT}/d/g`,
      );
      const modes = (await must(ctx, `stat -c '%n %a %u:%g' ${MNT}/ro ${MNT}/p600 ${MNT}/grp ${MNT}/d`)).trim();
      ctx.record({ modes: modes.split("\n") });
      const expect: Array<[string, string | undefined]> = [];
      const ops: ProbeOp[] = [];
      const op = (o: (typeof ops)[number], want: string | undefined, what: string) => {
        ops.push(o);
        expect.push([what, want]);
      };
      op({ op: "open", path: `${MNT}/ro`, flags: "r", id: "ro" }, undefined, "open 0444 O_RDONLY");
      op({ op: "read", fd: "ro", off: 0, len: 4096, expect: { seed: RO.seed } }, undefined, "read 0444");
      op({ op: "map", fd: "ro", id: "rom", len: TWO_MIB, prot: "rw" }, "EACCES", "mmap PROT_WRITE of O_RDONLY fd");
      op({ op: "open", path: `${MNT}/ro`, flags: "w", id: "row" }, "EACCES", "open 0444 O_WRONLY");
      op({ op: "open", path: `${MNT}/ro`, flags: "rw", id: "rorw" }, "EACCES", "open 0444 O_RDWR");
      op({ op: "write", fd: "row", off: 0, len: 1, byte: 0 }, "not-open", "write 0444 (no fd)");
      op({ op: "open", path: `${MNT}/p600`, flags: "r", id: "p" }, "EACCES", "open 0600 (other owner) O_RDONLY");
      op({ op: "open", path: `${MNT}/p600`, flags: "rw", id: "pw" }, "EACCES", "open 0600 (other owner) O_RDWR");
      op({ op: "open", path: `${MNT}/grp`, flags: "r", id: "g" }, undefined, "open 0640 group member O_RDONLY");
      op(
        { op: "read", fd: "g", off: 0, len: 4096, expect: { seed: GRP.seed } },
        undefined,
        "read 0640 as group member",
      );
      op({ op: "open", path: `${MNT}/grp`, flags: "rw", id: "gw" }, "EACCES", "open 0640 group member O_RDWR");
      op({ op: "open", path: `${MNT}/d/g`, flags: "r", id: "dg" }, "EACCES", "open in a 0700 directory");
      // Not under OTHER_USER: that user may not be able to read the checkout (e.g. a 0700 mktemp clone).
      const res = await runProbe(ctx, ops, { as: { uid: 1000, gid: 1000 } });
      const seen = expect.map(([what], i) => [what, byIndex(res, i)?.error ?? (byIndex(res, i) ? "ok" : "missing")]);
      const mountOpts = (await must(ctx, `awk '$2 == "${MNT}" { print $4 }' /proc/mounts`)).trim();
      ctx.record({ asUid1000: Object.fromEntries(seen), mountOptions: mountOpts });
      // Without default_permissions the kernel leaves mode checks at open to the FUSE server.
      const granted = seen.filter(([, got], i) => got === "ok" && expect[i][1] === "EACCES").map(([w]) => w);
      assert.deepEqual(
        granted,
        [],
        `uid 1000 was granted what the mode bits refuse (mount options ${mountOpts}; the daemon must mount with ` +
          `default_permissions or check access itself)`,
      );
      assert.deepEqual(
        seen,
        expect.map(([what, want]) => [what, want ?? "ok"]),
        "errno per operation as uid 1000",
      );
      assert.equal(byIndex(res, 1)!.mismatch, -1, "bytes read from the 0444 file");
      assert.equal(byIndex(res, 9)!.mismatch, -1, "bytes read from the 0640 file");
      await stopDaemon(ctx, d);
    } catch (e) {
      await killDaemon(ctx, d);
      throw e;
    }
  },
};

/** A system uuid that is not the superblock's (the master's): a daemon started with it is a client. */
const CLIENT_UUID = "00000000-0000-0000-0000-0000000000c1";

const clientRole: Test<State> = {
  name: "client-role-files-not-writable",
  async run(ctx, s) {
    const d = await mount(ctx, s, { wrap: `env FAMFS_SYSTEM_UUID=${CLIENT_UUID}` });
    try {
      const mode = (await must(ctx, `stat -c %a ${MNT}/${F.rel}`)).trim();
      // As root: mode bits do not stop root, so the daemon itself must refuse every way to write.
      const res = await runProbe(ctx, [
        { op: "open", path: `${MNT}/${F.rel}`, flags: "r", id: "f" },
        { op: "read", fd: "f", off: 0, len: 4096, expect: { seed: F.seed } },
        { op: "open", path: `${MNT}/${F.rel}`, flags: "w", id: "fw" },
        { op: "open", path: `${MNT}/${F.rel}`, flags: "rw", id: "frw" },
        { op: "map", fd: "f", id: "m", len: TWO_MIB, prot: "rw" },
      ]);
      const got = [0, 1, 2, 3, 4].map((i) => byIndex(res, i)?.error ?? (byIndex(res, i) ? "ok" : "missing"));
      ctx.record({ mode, asRoot: got });
      assert.equal(mode, "444", "a client presents its files without write bits");
      assert.deepEqual(
        got,
        ["ok", "ok", "EROFS", "EROFS", "EACCES"],
        `open/read/open-for-write/mmap-write as root: got ${got.join(", ")}`,
      );
      assert.equal(byIndex(res, 1)!.mismatch, -1, "bytes read on the client");
      await stopDaemon(ctx, d);
    } catch (e) {
      await killDaemon(ctx, d);
      throw e;
    }
  },
};

export const suite = defineSuite<State>({
  name: "permission_nodev",
  description: "nodev device nodes refused at open, no unprivileged nodes, CAP_SYS_RAWIO as the profile says, " +
    "mode/owner/group enforced for other users, client-role files read-only",
  needs: { famfs: true },
  fixture: {
    async setup(ctx) {
      const dev = famfsDevice(ctx);
      const initialDriver = await daxDriver(ctx, dev.dax);
      await prepareFs(ctx, MNT, FILES);
      return { dev, initialDriver };
    },
    async teardown(ctx, s) {
      await bindDax(ctx, s.dev.dax, s.initialDriver === "fsdev_dax" ? "fsdev_dax" : "device_dax");
    },
  },
  tests: [nodevTmpfs, nodevSuperblock, unprivilegedNode, noRawio, modeBits, clientRole],
});
