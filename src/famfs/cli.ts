/**
 * famfs command line: format, inspect and populate a famfs device, and run
 * the FUSE daemon (`mount`). Usage: deno run <perms> src/famfs/cli.ts --help
 */
import { S_IFDIR } from "../fuse/abi.ts";
import * as libc from "../fuse/libc.ts";
import { FuseSession } from "../fuse/session.ts";
import { Allocator } from "./alloc.ts";
import { closeDevice, deviceSize, openDevice } from "./device.ts";
import { DeviceError, LogError, SuperblockError, UsageError } from "./errors.ts";
import { type FamfsServerConfig, Shared } from "./filesystem.ts";
import {
  encodeLogEntry,
  encodeLogHeader,
  FAMFS_FM_ALL_HOSTS_RW,
  type Fmap,
  lastIndexFor,
  LOG_ENTRY_SIZE,
  LOG_HEADER_SIZE,
  type LogEntry,
  replayLog,
  type ReplayResult,
} from "./log.ts";
import { profileByName, type ProfileName } from "./profiles.ts";
import { parseScenario, type Scenario } from "./scenario.ts";
import { firstMismatch, seededBytes } from "./seed.ts";
import {
  checkSuperblock,
  encodeSuperblock,
  FAMFS_ALLOC_UNIT,
  FAMFS_CURRENT_VERSION,
  FAMFS_LOG_LEN,
  FAMFS_LOG_OFFSET,
  FAMFS_OMF_VER_MAJOR,
  FAMFS_OMF_VER_MINOR,
  FAMFS_PRIMARY_SB,
  FAMFS_SUPER_MAGIC,
  randomUuid,
  roleOf,
  type Superblock,
  SUPERBLOCK_STRUCT_SIZE,
  systemUuid,
  uuidToString,
} from "./superblock.ts";

export { seededBytes };

export const HELP = `famfs (famfs-lab TypeScript tools and FUSE daemon)

usage: deno run --allow-read --allow-write --allow-ffi --allow-env src/famfs/cli.ts <command> ...

  mkfs <dev-or-file> [--log-len BYTES] [--force]
  mount <dev-or-file> <mountpoint> [--profile rfc-v2|v3|ref] [--compat] [--scenario FILE.json]
        [--request-log FILE.jsonl] [--workers N (default 2)] [--daxdev-name PATH]
        [--entry-timeout MS] [--attr-timeout MS]   (kernel cache timeouts, default 1000)
        Runs the daemon in the foreground; prints "famfs: ready <mountpoint>" once
        mounted; SIGTERM/SIGINT unmount; exit 0 after a clean unmount.
  umount <mountpoint>
  mkdir <mnt>/<path>
  creat <mnt>/<path> --size N --seed S [--interleave NSTRIPS:CHUNK]
  cp <src-file> <mnt>/<path>
  ls <dev-or-mnt>
  logplay <dev-or-mnt>
  fsck <dev-or-mnt>           exit 1 when the superblock, log or allocation is corrupt
  verify <mnt>/<path> --seed S

Sizes accept suffixes k, m, g (powers of 1024). Default profile: ref.`;

interface Args {
  pos: string[];
  opt: Map<string, string | true>;
}

const FLAGS = new Set(["compat", "force", "help"]);

export function parseArgs(argv: string[]): Args {
  const pos: string[] = [];
  const opt = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [k, v] = a.slice(2).split("=", 2);
      if (v !== undefined) opt.set(k, v);
      else if (FLAGS.has(k)) opt.set(k, true);
      else {
        if (i + 1 >= argv.length) {
          throw new UsageError(`option --${k} needs a value`);
        }
        opt.set(k, argv[++i]);
      }
    } else pos.push(a);
  }
  return { pos, opt };
}

export function parseSize(s: string, what: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(s.trim());
  if (!m) {
    throw new UsageError(`${what}: "${s}" is not a size (e.g. 4096, 8m, 1g)`);
  }
  const mult = {
    "": 1,
    k: 1024,
    m: 1 << 20,
    g: 1 << 30,
  }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(m[1]) * mult;
}

function str(a: Args, k: string): string | undefined {
  const v = a.opt.get(k);
  if (v === true) throw new UsageError(`--${k} needs a value`);
  return v;
}

function need(a: Args, n: number, usage: string): void {
  if (a.pos.length < n) throw new UsageError(`usage: ${usage}`);
}

// ---------------------------------------------------------------- mkfs

export function mkfs(
  path: string,
  logLen = FAMFS_LOG_LEN,
  force = false,
): Superblock {
  if (logLen < FAMFS_LOG_LEN || (logLen & (logLen - 1)) !== 0) {
    throw new UsageError(
      `--log-len ${logLen}: must be a power of 2 and at least 8 MiB`,
    );
  }
  const dev = openDevice(path);
  try {
    if (FAMFS_LOG_OFFSET + logLen + FAMFS_ALLOC_UNIT > dev.size) {
      throw new DeviceError(
        path,
        `is ${dev.size} bytes: too small for a ${logLen}-byte log plus one file`,
      );
    }
    if (!force) {
      try {
        checkSuperblock(
          dev.map.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE),
          path,
          dev.size,
        );
        throw new DeviceError(
          path,
          "already holds a valid famfs superblock; use --force to overwrite",
        );
      } catch (e) {
        if (!(e instanceof SuperblockError)) throw e;
      }
    }
    const sb: Superblock = {
      magic: FAMFS_SUPER_MAGIC,
      version: FAMFS_CURRENT_VERSION,
      logOffset: FAMFS_LOG_OFFSET,
      logLen,
      allocUnit: FAMFS_ALLOC_UNIT,
      omfMajor: FAMFS_OMF_VER_MAJOR,
      omfMinor: FAMFS_OMF_VER_MINOR,
      uuid: randomUuid(),
      devUuid: randomUuid(),
      systemUuid: systemUuid(),
      crc: 0n,
      flags: FAMFS_PRIMARY_SB,
      daxdevSize: dev.size,
      daxdevUuid: randomUuid(),
      daxdevName: path,
    };
    const b = dev.map.bytes;
    b.fill(0, 0, FAMFS_LOG_OFFSET + logLen);
    b.set(
      encodeLogHeader({
        len: logLen,
        lastIndex: lastIndexFor(logLen),
        nextSeqnum: 0,
        nextIndex: 0,
      }),
      FAMFS_LOG_OFFSET,
    );
    b.set(encodeSuperblock(sb), 0); // superblock last: a torn mkfs leaves no valid fs
    return checkSuperblock(
      b.subarray(0, SUPERBLOCK_STRUCT_SIZE),
      path,
      dev.size,
    );
  } finally {
    closeDevice(dev);
  }
}

// ---------------------------------------------------------------- metadata access

/** Metadata of a famfs instance, read from a device/image or through a mount's .meta files. */
export interface Meta {
  source: string;
  sb: Superblock;
  deviceSize: number;
  log: Uint8Array;
  replay: ReplayResult;
  /** Appends an entry (mount: through .meta/.log; device: in the mapping). */
  append(e: LogEntry): number;
  close(): void;
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

export function openMeta(target: string): Meta {
  if (isDir(target)) return openMetaViaMount(target);
  const dev = openDevice(target);
  try {
    const sb = checkSuperblock(
      dev.map.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE),
      target,
      dev.size,
    );
    const log = dev.map.bytes.subarray(sb.logOffset, sb.logOffset + sb.logLen);
    const meta: Meta = {
      source: target,
      sb,
      deviceSize: dev.size,
      log,
      replay: replayLog(log, sb.logOffset, sb.logLen, dev.size),
      append: (e) => appendVia(meta, e, (off, bytes) => log.set(bytes, off)),
      close: () => closeDevice(dev),
    };
    return meta;
  } catch (e) {
    closeDevice(dev);
    throw e;
  }
}

function openMetaViaMount(mnt: string): Meta {
  const sbBytes = readAll(`${mnt}/.meta/.superblock`, SUPERBLOCK_STRUCT_SIZE);
  const sb0 = checkSuperblock(
    sbBytes,
    `${mnt}/.meta/.superblock`,
    Number.MAX_SAFE_INTEGER,
  );
  const sb = checkSuperblock(
    sbBytes,
    `${mnt}/.meta/.superblock`,
    sb0.daxdevSize,
  );
  const logFile = Deno.openSync(`${mnt}/.meta/.log`, {
    read: true,
    write: true,
  });
  const log = new Uint8Array(sb.logLen);
  let got = 0;
  while (got < sb.logLen) {
    const n = logFile.readSync(log.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  const meta: Meta = {
    source: mnt,
    sb,
    deviceSize: sb.daxdevSize,
    log,
    replay: replayLog(log, sb.logOffset, sb.logLen, sb.daxdevSize),
    append: (e) =>
      appendVia(meta, e, (off, bytes) => {
        log.set(bytes, off);
        logFile.seekSync(off, Deno.SeekMode.Start);
        let w = 0;
        while (w < bytes.byteLength) w += logFile.writeSync(bytes.subarray(w));
      }),
    close: () => logFile.close(),
  };
  return meta;
}

function readAll(path: string, n: number): Uint8Array {
  const f = Deno.openSync(path);
  try {
    const b = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = f.readSync(b.subarray(got));
      if (!r) break;
      got += r;
    }
    return b.subarray(0, got);
  } finally {
    f.close();
  }
}

function appendVia(
  m: Meta,
  e: LogEntry,
  put: (off: number, bytes: Uint8Array) => void,
): number {
  if (roleOf(m.sb) !== "master") {
    throw new UsageError(
      `this host is a client of ${m.source} (system uuid differs from ${
        uuidToString(m.sb.systemUuid)
      }); only the master appends to the log`,
    );
  }
  const h = m.replay.header;
  if (h.nextIndex > h.lastIndex) {
    throw new LogError(
      m.sb.logOffset,
      undefined,
      `log full (${h.lastIndex + 1} entries)`,
    );
  }
  const index = h.nextIndex;
  put(
    LOG_HEADER_SIZE + index * LOG_ENTRY_SIZE,
    encodeLogEntry(h.nextSeqnum, e),
  );
  put(
    0,
    encodeLogHeader({
      len: h.len,
      lastIndex: h.lastIndex,
      nextSeqnum: h.nextSeqnum + 1,
      nextIndex: index + 1,
    }),
  );
  h.nextIndex++;
  h.nextSeqnum++;
  m.replay.entries.push({ index, entry: e });
  return index;
}

/** Mount point of the famfs mount containing `path`, and the path relative to it. */
export function splitMountPath(path: string): { mnt: string; rel: string } {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const norm = abs.split("/").filter((c) => c && c !== ".").join("/");
  const info = new TextDecoder().decode(
    libc.readFileFfi("/proc/self/mountinfo"),
  );
  let best = "";
  for (const l of info.split("\n")) {
    const f = l.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0 || !f[sep + 1]?.startsWith("fuse.famfs")) continue;
    const mp = f[4].replace(/^\//, "");
    if (
      (norm === mp || norm.startsWith(mp + "/")) && mp.length >= best.length
    ) best = mp;
  }
  if (!best && !norm.includes("/")) {
    throw new UsageError(`${path} is not inside a famfs mount`);
  }
  if (!best) {
    throw new UsageError(
      `${path} is not inside a famfs mount (see mount | grep fuse.famfs)`,
    );
  }
  const rel = norm.slice(best.length + 1);
  if (!rel) {
    throw new UsageError(
      `${path}: give a path inside the mount, not the mount point`,
    );
  }
  return { mnt: "/" + best, rel };
}

// ---------------------------------------------------------------- file creation

function existing(m: Meta, rel: string): boolean {
  return m.replay.entries.some((x) => x.entry.path === rel);
}

export function createFile(
  target: string,
  size: number,
  interleave?: { nstrips: number; chunk: number },
  mode = 0o644,
): {
  mnt: string;
  rel: string;
  fmap: Fmap;
} {
  const { mnt, rel } = splitMountPath(target);
  const m = openMeta(mnt);
  try {
    if (existing(m, rel)) {
      throw new UsageError(
        `${target} already exists (famfs files cannot be replaced)`,
      );
    }
    if (size <= 0) throw new UsageError(`--size ${size}: must be > 0`);
    const a = Allocator.fromEntries(
      m.deviceSize,
      m.sb.logOffset,
      m.sb.logLen,
      m.replay.entries.map((x) => x.entry),
    );
    const fmap = interleave
      ? a.allocInterleaved(size, interleave.nstrips, interleave.chunk, rel)
      : a.allocSimple(size, rel);
    m.append({
      kind: "file",
      size,
      flags: FAMFS_FM_ALL_HOSTS_RW,
      uid: 0,
      gid: 0,
      mode,
      path: rel,
      fmap,
    });
    return { mnt, rel, fmap };
  } finally {
    m.close();
  }
}

async function waitVisible(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new DeviceError(
    path,
    "did not appear in the mount after the log append",
  );
}

async function writeContent(
  path: string,
  size: number,
  chunkOf: (off: number, len: number) => Uint8Array,
) {
  await waitVisible(path);
  const f = await Deno.open(path, { write: true });
  try {
    const CH = 1 << 20;
    for (let off = 0; off < size; off += CH) {
      const b = chunkOf(off, Math.min(CH, size - off));
      let w = 0;
      while (w < b.byteLength) w += await f.write(b.subarray(w));
    }
    await f.sync();
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------- reports

function describeFmap(f: Fmap): string {
  if (f.type === "simple") {
    return f.extents.map((x) => `[dev${x.devindex} 0x${x.offset.toString(16)}+0x${x.len.toString(16)}]`).join(" ");
  }
  return f.iext.map((ie) =>
    `interleave(${ie.nstrips}x${ie.chunkSize}) ` +
    ie.strips.map((x) => `[0x${x.offset.toString(16)}+0x${x.len.toString(16)}]`)
      .join(" ")
  ).join(" ");
}

export interface FsckReport {
  errors: string[];
  files: number;
  dirs: number;
}

export function fsck(target: string): FsckReport {
  const errors: string[] = [];
  let m: Meta;
  try {
    m = openMeta(target);
  } catch (e) {
    if (e instanceof SuperblockError || e instanceof LogError) {
      return { errors: [e.message], files: 0, dirs: 0 };
    }
    throw e;
  }
  try {
    for (const e of m.replay.errors) errors.push(e.message);
    const entries = m.replay.entries.map((x) => x.entry);
    const a = Allocator.fromEntries(
      m.deviceSize,
      m.sb.logOffset,
      m.sb.logLen,
      entries,
    );
    for (const o of a.overlaps) {
      errors.push(
        `allocation overlap: ${o.path} reuses device offset 0x${o.offset.toString(16)}`,
      );
    }
    return {
      errors,
      files: entries.filter((e) => e.kind === "file").length,
      dirs: entries.filter((e) => e.kind === "mkdir").length,
    };
  } finally {
    m.close();
  }
}

// ---------------------------------------------------------------- mount

async function runMount(a: Args): Promise<number> {
  need(a, 3, "mount <dev-or-file> <mountpoint> [options]");
  const [device, mountpoint] = [a.pos[1], a.pos[2]];
  const profileName = (str(a, "profile") ?? "ref") as ProfileName;
  if (!profileByName(profileName)) {
    throw new UsageError(`--profile ${profileName}: use rfc-v2, v3 or ref`);
  }
  const compat = a.opt.get("compat") === true;
  const workers = Number(str(a, "workers") ?? "2");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UsageError(`--workers: 1..64`);
  }
  let scenario: Scenario | undefined;
  const scenarioFile = str(a, "scenario");
  if (scenarioFile) {
    scenario = parseScenario(Deno.readTextFileSync(scenarioFile), scenarioFile);
  }
  const requestLog = str(a, "request-log");
  if (requestLog) Deno.writeTextFileSync(requestLog, "", { append: true });
  if (!isDir(mountpoint)) {
    throw new UsageError(`mount point ${mountpoint} is not a directory`);
  }

  const shared = new SharedArrayBuffer(Shared.bytes());
  const slots = new BigInt64Array(shared, 0, 8);
  const cleanups: Array<() => void> = [];
  let dev: ReturnType<typeof openDevice> | undefined;
  if (compat) {
    dev = openDevice(device);
    const sb = checkSuperblock(
      dev.map.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE),
      device,
      dev.size,
    );
    replayLog(
      dev.map.bytes.subarray(sb.logOffset, sb.logOffset + sb.logLen),
      sb.logOffset,
      sb.logLen,
      dev.size,
    );
    const base = BigInt(Deno.UnsafePointer.value(dev.map.ptr));
    slots[Shared.DEV_PTR] = base;
    slots[Shared.DEV_SIZE] = BigInt(dev.size);
    slots[Shared.LOG_OFFSET] = BigInt(sb.logOffset);
    slots[Shared.LOG_LEN] = BigInt(sb.logLen);
    slots[Shared.SB_PTR] = base;
    slots[Shared.LOG_PTR] = base + BigInt(sb.logOffset);
    slots[Shared.CLIENT] = roleOf(sb) === "client" ? 1n : 0n;
  } else {
    slots[Shared.DEV_SIZE] = BigInt(deviceSize(device).size);
  }
  const presets = makePresets(scenario, device, cleanups);
  const cfg: FamfsServerConfig = {
    device,
    compat,
    profile: profileName,
    daxdevName: str(a, "daxdev-name") ?? device,
    scenario,
    requestLog,
    presets,
    entryTimeoutMs: Number(str(a, "entry-timeout") ?? "1000"),
    attrTimeoutMs: Number(str(a, "attr-timeout") ?? "1000"),
  };
  const session = FuseSession.mount({
    mountpoint,
    source: device,
    subtype: "famfs",
    workers,
    maxWrite: 1 << 20,
    allowOther: true,
    defaultPermissions: true,
    serverModule: new URL("./filesystem.ts", import.meta.url).href,
    serverConfig: cfg,
    shared,
  });
  session.onServerMessage = (msg) => {
    if ((msg as { type?: string }).type === "crash") {
      console.error("famfs: scenario crashAfterReply: exiting without unmount");
      Deno.exit(99);
    }
  };
  const stop = () => session.unmount();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const done = session.run();
  try {
    await session.initDone;
    if (!compat) {
      await bootstrapThroughMount(mountpoint, device, slots, cleanups);
    }
    console.log(`famfs: ready ${mountpoint}`);
  } catch (e) {
    console.error(`famfs: ${(e as Error).message}`);
    session.unmount();
  }
  const reason = await done;
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  for (const c of cleanups.reverse()) c();
  if (dev) closeDevice(dev);
  switch (reason) {
    case "unmounted":
      console.error(`famfs: unmounted ${mountpoint}`);
      return 0;
    case "aborted":
      console.error(
        `famfs: connection aborted by the kernel; detached ${mountpoint}`,
      );
      return 0;
    case "init-refused":
      console.error(`famfs: INIT refused; ${mountpoint} not mounted`);
      return 2;
    default:
      return 1;
  }
}

/**
 * famfs mode: map .meta/.superblock and .meta/.log through our own mount
 * (the kernel's DAX path does the access; workers serve the requests).
 */
async function bootstrapThroughMount(
  mnt: string,
  device: string,
  slots: BigInt64Array,
  cleanups: Array<() => void>,
) {
  const sbFd = libc.open(
    `${mnt}/.meta/.superblock`,
    libc.O_RDONLY | libc.O_CLOEXEC,
  );
  const sbMap = libc.mmapFd(
    sbFd,
    FAMFS_LOG_OFFSET,
    false,
    `${mnt}/.meta/.superblock`,
  );
  cleanups.push(() => (libc.munmap(sbMap), libc.close(sbFd)));
  const sb = checkSuperblock(
    sbMap.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE),
    device,
    Number(slots[Shared.DEV_SIZE]),
  );
  slots[Shared.LOG_OFFSET] = BigInt(sb.logOffset);
  Atomics.store(slots, Shared.CLIENT, roleOf(sb) === "client" ? 1n : 0n);
  Atomics.store(slots, Shared.LOG_LEN, BigInt(sb.logLen));
  await Promise.resolve();
  const logFd = libc.open(`${mnt}/.meta/.log`, libc.O_RDWR | libc.O_CLOEXEC);
  const logMap = libc.mmapFd(logFd, sb.logLen, true, `${mnt}/.meta/.log`);
  cleanups.push(() => (libc.munmap(logMap), libc.close(logFd)));
  replayLog(
    logMap.bytes,
    sb.logOffset,
    sb.logLen,
    Number(slots[Shared.DEV_SIZE]),
  );
  Atomics.store(
    slots,
    Shared.LOG_PTR,
    BigInt(Deno.UnsafePointer.value(logMap.ptr)),
  );
}

function makePresets(
  s: Scenario | undefined,
  device: string,
  cleanups: Array<() => void>,
) {
  let regular = "/etc/hostname";
  if (s?.rules.some((r) => r.name === "@regular")) {
    const tmp = Deno.makeTempFileSync({ prefix: "famfs-scenario-regular-" });
    cleanups.push(() => Deno.removeSync(tmp));
    regular = tmp;
  }
  let nodev: string | undefined;
  if (s?.rules.some((r) => r.name === "@nodev")) {
    const dir = Deno.makeTempDirSync({ prefix: "famfs-nodev-" });
    libc.mount("tmpfs", dir, "tmpfs", libc.MS_NODEV, "size=64k,mode=0700");
    const st = libc.statPath(device);
    const rdev = st && (st.mode & libc.S_IFMT) === libc.S_IFCHR ? st.rdev : (1n << 8n) | 3n;
    nodev = `${dir}/daxnode`;
    libc.mknod(nodev, libc.S_IFCHR | 0o600, rdev);
    cleanups.push(() => {
      libc.umount2(dir, libc.MNT_DETACH);
      Deno.removeSync(dir);
    });
  }
  return { regular, nodev };
}

// ---------------------------------------------------------------- main

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const cmd = a.pos[0];
  if (!cmd || a.opt.get("help") || cmd === "help") {
    console.log(HELP);
    return 0;
  }
  switch (cmd) {
    case "mkfs": {
      need(a, 2, "mkfs <dev-or-file> [--log-len BYTES] [--force]");
      const ll = str(a, "log-len");
      const sb = mkfs(
        a.pos[1],
        ll ? parseSize(ll, "--log-len") : FAMFS_LOG_LEN,
        a.opt.get("force") === true,
      );
      console.log(
        `famfs: mkfs ${a.pos[1]}: uuid ${uuidToString(sb.uuid)}, log 0x${sb.logOffset.toString(16)}+0x${
          sb.logLen.toString(16)
        }`,
      );
      return 0;
    }
    case "mount":
      return await runMount(a);
    case "umount": {
      need(a, 2, "umount <mountpoint>");
      const e = libc.umount2(a.pos[1], 0);
      if (e !== 0) {
        console.error(`famfs: umount ${a.pos[1]}: ${libc.strerror(e)}`);
        return 1;
      }
      return 0;
    }
    case "mkdir": {
      need(a, 2, "mkdir <mnt>/<path>");
      const { mnt, rel } = splitMountPath(a.pos[1]);
      const m = openMeta(mnt);
      try {
        if (existing(m, rel)) {
          throw new UsageError(`${a.pos[1]} already exists`);
        }
        m.append({ kind: "mkdir", uid: 0, gid: 0, mode: 0o755, path: rel });
      } finally {
        m.close();
      }
      await waitVisible(a.pos[1]);
      return 0;
    }
    case "creat": {
      need(
        a,
        2,
        "creat <mnt>/<path> --size N --seed S [--interleave NSTRIPS:CHUNK]",
      );
      const sizeS = str(a, "size");
      const seedS = str(a, "seed");
      if (!sizeS || seedS === undefined) {
        throw new UsageError("creat needs --size N and --seed S");
      }
      const size = parseSize(sizeS, "--size");
      const seed = Number(seedS);
      if (!Number.isInteger(seed)) {
        throw new UsageError(`--seed ${seedS}: must be an integer`);
      }
      let il: { nstrips: number; chunk: number } | undefined;
      const ilS = str(a, "interleave");
      if (ilS) {
        const [n, c] = ilS.split(":");
        if (!n || !c) {
          throw new UsageError(
            `--interleave ${ilS}: expected NSTRIPS:CHUNK, e.g. 4:2m`,
          );
        }
        il = { nstrips: Number(n), chunk: parseSize(c, "--interleave chunk") };
      }
      const r = createFile(a.pos[1], size, il);
      await writeContent(
        a.pos[1],
        size,
        (off, len) => seededBytes(seed, off, len),
      );
      console.log(`${r.rel} ${size} ${describeFmap(r.fmap)}`);
      return 0;
    }
    case "cp": {
      need(a, 3, "cp <src-file> <mnt>/<path>");
      const data = await Deno.readFile(a.pos[1]);
      createFile(a.pos[2], data.byteLength);
      await writeContent(
        a.pos[2],
        data.byteLength,
        (off, len) => data.subarray(off, off + len),
      );
      return 0;
    }
    case "ls":
    case "logplay": {
      need(a, 2, `${cmd} <dev-or-mnt>`);
      const m = openMeta(a.pos[1]);
      try {
        for (const { index, entry } of m.replay.entries) {
          if (cmd === "ls") {
            const mode = entry.kind === "mkdir" ? S_IFDIR | entry.mode : entry.mode;
            console.log(
              `${(mode & 0o170777).toString(8).padStart(7, "0")} ${
                entry.kind === "file" ? entry.size : "-"
              } ${entry.path}`,
            );
          } else {
            console.log(
              `${index} ${entry.kind} ${entry.path}${
                entry.kind === "file" ? ` ${entry.size} ${describeFmap(entry.fmap)}` : ""
              }`,
            );
          }
        }
        for (const e of m.replay.errors) console.error(`famfs: ${e.message}`);
        if (cmd === "logplay") {
          console.log(
            `famfs: ${m.replay.entries.length} entries, role ${roleOf(m.sb)}`,
          );
        }
        return m.replay.errors.length ? 1 : 0;
      } finally {
        m.close();
      }
    }
    case "fsck": {
      need(a, 2, "fsck <dev-or-mnt>");
      const r = fsck(a.pos[1]);
      for (const e of r.errors) console.log(`famfs fsck: ${e}`);
      console.log(
        `famfs fsck: ${a.pos[1]}: ${r.files} files, ${r.dirs} dirs, ${r.errors.length} errors`,
      );
      return r.errors.length ? 1 : 0;
    }
    case "verify": {
      need(a, 2, "verify <mnt>/<path> --seed S");
      const seedS = str(a, "seed");
      if (seedS === undefined) throw new UsageError("verify needs --seed S");
      const seed = Number(seedS);
      const f = await Deno.open(a.pos[1]);
      try {
        const buf = new Uint8Array(1 << 20);
        let off = 0;
        for (;;) {
          const n = await f.read(buf);
          if (n === null) break;
          const bad = firstMismatch(seed, off, buf.subarray(0, n));
          if (bad >= 0) {
            console.log(`famfs verify: ${a.pos[1]}: mismatch at offset ${bad}`);
            return 1;
          }
          off += n;
        }
        console.log(`famfs verify: ${a.pos[1]}: ${off} bytes ok`);
        return 0;
      } finally {
        f.close();
      }
    }
    default:
      throw new UsageError(`unknown command "${cmd}"; see --help`);
  }
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (e) {
    const err = e as Error;
    const known = [
      "UsageError",
      "DeviceError",
      "SuperblockError",
      "LogError",
      "AllocError",
      "ScenarioError",
      "FuseMountError",
      "FuseInitError",
      "LibcError",
    ];
    console.error(
      `famfs: ${known.includes(err.name) ? err.message : err.stack ?? err}`,
    );
    code = err.name === "UsageError" ? 2 : 1;
  }
  Deno.exit(code);
}
