/**
 * famfs metadata as a library: format a device or image (`mkfs`) and open the superblock and log
 * of a device, an image file or a mounted famfs (through its .meta files), replayed and ready for
 * appends by the master.
 */
import { closeDevice, openDevice } from "./device.ts";
import { DeviceError, LogError, SuperblockError, UsageError } from "./errors.ts";
import {
  type AnyLogEntry,
  encodeLogEntry,
  encodeLogHeader,
  lastIndexFor,
  LOG_ENTRY_SIZE,
  LOG_HEADER_SIZE,
  replayLog,
  type ReplayResult,
} from "./log.ts";
import {
  checkSuperblock,
  encodeSuperblock,
  FAMFS_ALLOC_UNIT,
  FAMFS_CURRENT_VERSION,
  FAMFS_LOG_LEN,
  FAMFS_LOG_OFFSET,
  FAMFS_OMF_VER_MAJOR,
  FAMFS_OMF_VER_MINOR,
  FAMFS_SUPER_MAGIC,
  randomUuid,
  type Superblock,
  SUPERBLOCK_STRUCT_SIZE,
  uuidToString,
} from "./superblock.ts";
import { type Role, roleOf, systemUuid } from "./system_uuid.ts";

export interface MkfsOptions {
  logLen?: number;
  /** Overwrite a valid famfs superblock. */
  force?: boolean;
  /** This host's system UUID (text); default: see systemUuid(). The formatting host becomes the master. */
  systemUuid?: string;
}

export function mkfs(path: string, opts: MkfsOptions = {}): Superblock {
  const logLen = opts.logLen ?? FAMFS_LOG_LEN;
  if (logLen < FAMFS_LOG_LEN || (logLen & (logLen - 1)) !== 0) {
    throw new UsageError(`--log-len ${logLen}: must be a power of 2 and at least 8 MiB`);
  }
  const system = systemUuid(opts.systemUuid).uuid;
  const dev = openDevice(path);
  try {
    if (FAMFS_LOG_OFFSET + logLen + FAMFS_ALLOC_UNIT > dev.size) {
      throw new DeviceError(path, `is ${dev.size} bytes: too small for a ${logLen}-byte log plus one file`);
    }
    if (!opts.force) {
      try {
        checkSuperblock(dev.map.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE), path, dev.size);
        throw new DeviceError(path, "already holds a valid famfs superblock; use --force to overwrite");
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
      systemUuid: system,
      crc: 0n,
      flags: 0, // as the real mkfs writes
      daxdevSize: dev.size,
      daxdevUuid: randomUuid(),
      daxdevName: path,
    };
    const b = dev.map.bytes;
    b.fill(0, 0, FAMFS_LOG_OFFSET + logLen);
    b.set(
      encodeLogHeader({ len: logLen, lastIndex: lastIndexFor(logLen), nextSeqnum: 0, nextIndex: 0 }),
      FAMFS_LOG_OFFSET,
    );
    b.set(encodeSuperblock(sb), 0); // superblock last: a torn mkfs leaves no valid fs
    return checkSuperblock(b.subarray(0, SUPERBLOCK_STRUCT_SIZE), path, dev.size);
  } finally {
    closeDevice(dev);
  }
}

export interface OpenMetaOptions {
  /** This host's system UUID (text); default: see systemUuid(). Decides `role`. */
  systemUuid?: string;
  /** Map a device or image read-only (no append possible). */
  readOnly?: boolean;
}

/** Metadata of a famfs instance, read from a device/image or through a mount's .meta files. */
export interface Meta {
  source: string;
  sb: Superblock;
  deviceSize: number;
  log: Uint8Array;
  replay: ReplayResult;
  role: Role;
  /** Appends an entry (mount: through .meta/.log; device: in the mapping). Master only. */
  append(e: AnyLogEntry): number;
  close(): void;
}

export function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

export function openMeta(target: string, opts: OpenMetaOptions = {}): Meta {
  const system = systemUuid(opts.systemUuid).uuid;
  if (isDir(target)) return openMetaViaMount(target, system);
  const dev = openDevice(target, opts.readOnly);
  try {
    const sb = checkSuperblock(dev.map.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE), target, dev.size);
    const log = dev.map.bytes.subarray(sb.logOffset, sb.logOffset + sb.logLen);
    const meta: Meta = {
      source: target,
      sb,
      deviceSize: dev.size,
      log,
      replay: replayLog(log, sb.logOffset, sb.logLen, dev.size),
      role: roleOf(sb, system),
      append: (e) => {
        if (opts.readOnly) throw new UsageError(`${target} was opened read-only`);
        return appendVia(meta, e, (off, bytes) => log.set(bytes, off));
      },
      close: () => closeDevice(dev),
    };
    return meta;
  } catch (e) {
    closeDevice(dev);
    throw e;
  }
}

function openMetaViaMount(mnt: string, system: Uint8Array): Meta {
  const sbBytes = readAll(`${mnt}/.meta/.superblock`, SUPERBLOCK_STRUCT_SIZE);
  const sb0 = checkSuperblock(sbBytes, `${mnt}/.meta/.superblock`, Number.MAX_SAFE_INTEGER);
  const sb = checkSuperblock(sbBytes, `${mnt}/.meta/.superblock`, sb0.daxdevSize);
  const role = roleOf(sb, system);
  const logFile = Deno.openSync(`${mnt}/.meta/.log`, { read: true, write: role === "master" });
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
    role,
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

function appendVia(m: Meta, e: AnyLogEntry, put: (off: number, bytes: Uint8Array) => void): number {
  if (m.role !== "master") {
    throw new UsageError(
      `this host is a client of ${m.source} (its system uuid is not the superblock's ${
        uuidToString(m.sb.systemUuid)
      }); only the master appends to the log (set --system-uuid to act as the master)`,
    );
  }
  const h = m.replay.header;
  if (h.nextIndex > h.lastIndex) {
    throw new LogError(m.sb.logOffset, undefined, `log full (${h.lastIndex + 1} entries)`);
  }
  const index = h.nextIndex;
  put(LOG_HEADER_SIZE + index * LOG_ENTRY_SIZE, encodeLogEntry(h.nextSeqnum, e));
  put(0, encodeLogHeader({ len: h.len, lastIndex: h.lastIndex, nextSeqnum: h.nextSeqnum + 1, nextIndex: index + 1 }));
  h.nextIndex++;
  h.nextSeqnum++;
  if (e.kind === "daxdev") m.replay.daxdevs.push({ index, entry: e });
  else m.replay.entries.push({ index, entry: e });
  return index;
}
