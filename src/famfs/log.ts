/**
 * famfs v2 append-only log (struct famfs_log / famfs_log_entry, x86_64), byte-compatible with
 * the real famfs user-space code (OMF 2.2):
 * Header (48): @0 magic u64, @8 len u64, @16 last_index u64, @24 crc u64 (crc32 over bytes 0..23),
 * @32 next_seqnum u64, @40 next_index u64. Entries start at @48.
 * Entry (544): @0 seqnum u64, @8 type u32, @16 union, @536 crc u64 (crc32 over bytes 0..535,
 * padding included).
 *   FILE       @16 size u64, @24 flags u32, @28 uid, @32 gid, @36 mode, @40 relpath[80],
 *              @120 fmap_ext_type u32, @128 nextents|niext u32,
 *              @136 se[16] {devindex, offset, len: u64} | ie[1] {nstrips u64, chunk_size u64, @152 strips[16]}
 *   MKDIR      @16 uid, @20 gid, @24 mode, @28 relpath[80]
 *   ADD_DAXDEV @16 size u64, @24 uuid[16], @40 index u32 (real logplay skips it; so do we)
 * The media holds no byte count for an interleaved extent: it is the file's size.
 */
import { crc32 } from "./crc32.ts";
import { LogError } from "./errors.ts";

export const FAMFS_LOG_MAGIC = 0xbadcafef00dn;
export const LOG_HEADER_SIZE = 48;
export const LOG_ENTRY_SIZE = 544;
export const LOG_ENTRY_CRC_OFFSET = 536;
export const FAMFS_MAX_PATHLEN = 80;
export const FAMFS_MAX_SIMPLE_EXTENTS = 16;
export const FAMFS_FM_ALL_HOSTS_RW = 2;

export const LogEntryType = { FILE: 0, MKDIR: 1, DELETE: 2, ADD_DAXDEV: 3 } as const;

/** Byte offsets inside one entry (the union arms start at 16). */
const EntryField = {
  seqnum: 0,
  type: 8,
  fileSize: 16,
  fileFlags: 24,
  fileUid: 28,
  fileGid: 32,
  fileMode: 36,
  fileRelpath: 40,
  fmapExtType: 120,
  fmapCount: 128,
  fmapExtents: 136,
  ieNstrips: 136,
  ieChunkSize: 144,
  ieStrips: 152,
  mkdirUid: 16,
  mkdirGid: 20,
  mkdirMode: 24,
  mkdirRelpath: 28,
  daxdevSize: 16,
  daxdevUuid: 24,
  daxdevIndex: 40,
  crc: LOG_ENTRY_CRC_OFFSET,
} as const;
const SIMPLE_EXTENT_SIZE = 24;
export const ExtType = { SIMPLE: 0, INTERLEAVE: 1 } as const;

export interface SimpleExtent {
  devindex: number;
  offset: number;
  len: number;
}

export interface InterleavedExtent {
  nstrips: number;
  chunkSize: number;
  /** Bytes mapped through this extent; not on media (decoded as the file's size). */
  nbytes: number;
  strips: SimpleExtent[];
}

export type Fmap =
  | { type: "simple"; extents: SimpleExtent[] }
  | { type: "interleave"; iext: InterleavedExtent[] };

export interface FileEntry {
  kind: "file";
  size: number;
  flags: number;
  uid: number;
  gid: number;
  mode: number;
  path: string;
  fmap: Fmap;
}

export interface MkdirEntry {
  kind: "mkdir";
  uid: number;
  gid: number;
  mode: number;
  path: string;
}

export type LogEntry = FileEntry | MkdirEntry;

/** ADD_DAXDEV: a device joins the filesystem's device table (replay skips it, as real famfs does). */
export interface DaxdevEntry {
  kind: "daxdev";
  size: number;
  uuid: Uint8Array;
  index: number;
}

export type AnyLogEntry = LogEntry | DaxdevEntry;

export interface LogHeader {
  magic: bigint;
  len: number;
  lastIndex: number;
  crc: bigint;
  nextSeqnum: number;
  nextIndex: number;
}

const te = new TextEncoder();
const td = new TextDecoder();

export function lastIndexFor(logLen: number): number {
  return Math.floor((logLen - LOG_HEADER_SIZE) / LOG_ENTRY_SIZE) - 1;
}

export function encodeLogHeader(
  h: Omit<LogHeader, "crc" | "magic">,
): Uint8Array {
  const b = new Uint8Array(LOG_HEADER_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, FAMFS_LOG_MAGIC, true);
  v.setBigUint64(8, BigInt(h.len), true);
  v.setBigUint64(16, BigInt(h.lastIndex), true);
  v.setBigUint64(24, BigInt(crc32(b.subarray(0, 24))), true);
  v.setBigUint64(32, BigInt(h.nextSeqnum), true);
  v.setBigUint64(40, BigInt(h.nextIndex), true);
  return b;
}

export function decodeLogHeader(b: Uint8Array): LogHeader {
  const v = new DataView(b.buffer, b.byteOffset, LOG_HEADER_SIZE);
  return {
    magic: v.getBigUint64(0, true),
    len: Number(v.getBigUint64(8, true)),
    lastIndex: Number(v.getBigUint64(16, true)),
    crc: v.getBigUint64(24, true),
    nextSeqnum: Number(v.getBigUint64(32, true)),
    nextIndex: Number(v.getBigUint64(40, true)),
  };
}

/** Validates the header of a log located at device offset `logOffset`. */
export function checkLogHeader(
  b: Uint8Array,
  logOffset: number,
  logLen: number,
): LogHeader {
  const h = decodeLogHeader(b);
  if (h.magic !== FAMFS_LOG_MAGIC) {
    throw new LogError(
      logOffset,
      undefined,
      `magic 0x${h.magic.toString(16)} is not 0xbadcafef00d`,
    );
  }
  const crc = BigInt(crc32(b.subarray(0, 24)));
  if (crc !== h.crc) {
    throw new LogError(
      logOffset + 24,
      undefined,
      `crc 0x${h.crc.toString(16)} != computed 0x${crc.toString(16)}`,
    );
  }
  if (h.len !== logLen) {
    throw new LogError(
      logOffset + 8,
      undefined,
      `length ${h.len} != superblock's ${logLen}`,
    );
  }
  if (h.lastIndex !== lastIndexFor(logLen)) {
    throw new LogError(
      logOffset + 16,
      undefined,
      `last_index ${h.lastIndex} != ${lastIndexFor(logLen)}`,
    );
  }
  if (h.nextIndex > h.lastIndex + 1 || h.nextSeqnum !== h.nextIndex) {
    throw new LogError(
      logOffset + 32,
      undefined,
      `next_seqnum ${h.nextSeqnum} / next_index ${h.nextIndex} inconsistent (last_index ${h.lastIndex})`,
    );
  }
  return h;
}

function putPath(b: Uint8Array, off: number, path: string): void {
  const p = te.encode(path);
  if (p.byteLength >= FAMFS_MAX_PATHLEN) {
    throw new LogError(
      0,
      undefined,
      `path "${path}" is ${p.byteLength} bytes; famfs allows ${FAMFS_MAX_PATHLEN - 1}`,
    );
  }
  b.set(p, off);
}

function getPath(b: Uint8Array, off: number): string {
  const raw = b.subarray(off, off + FAMFS_MAX_PATHLEN);
  const nul = raw.indexOf(0);
  return td.decode(nul >= 0 ? raw.subarray(0, nul) : raw);
}

function putExtent(v: DataView, off: number, e: SimpleExtent): void {
  v.setBigUint64(off, BigInt(e.devindex), true);
  v.setBigUint64(off + 8, BigInt(e.offset), true);
  v.setBigUint64(off + 16, BigInt(e.len), true);
}

function getExtent(v: DataView, off: number): SimpleExtent {
  return {
    devindex: Number(v.getBigUint64(off, true)),
    offset: Number(v.getBigUint64(off + 8, true)),
    len: Number(v.getBigUint64(off + 16, true)),
  };
}

/** Encodes one 544-byte entry with its seqnum and CRC. */
export function encodeLogEntry(seqnum: number, e: AnyLogEntry): Uint8Array {
  const F = EntryField;
  const b = new Uint8Array(LOG_ENTRY_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(F.seqnum, BigInt(seqnum), true);
  if (e.kind === "mkdir") {
    v.setUint32(F.type, LogEntryType.MKDIR, true);
    v.setUint32(F.mkdirUid, e.uid, true);
    v.setUint32(F.mkdirGid, e.gid, true);
    v.setUint32(F.mkdirMode, e.mode, true);
    putPath(b, F.mkdirRelpath, e.path);
  } else if (e.kind === "daxdev") {
    v.setUint32(F.type, LogEntryType.ADD_DAXDEV, true);
    v.setBigUint64(F.daxdevSize, BigInt(e.size), true);
    b.set(e.uuid.subarray(0, 16), F.daxdevUuid);
    v.setUint32(F.daxdevIndex, e.index, true);
  } else {
    v.setUint32(F.type, LogEntryType.FILE, true);
    v.setBigUint64(F.fileSize, BigInt(e.size), true);
    v.setUint32(F.fileFlags, e.flags, true);
    v.setUint32(F.fileUid, e.uid, true);
    v.setUint32(F.fileGid, e.gid, true);
    v.setUint32(F.fileMode, e.mode, true);
    putPath(b, F.fileRelpath, e.path);
    if (e.fmap.type === "simple") {
      if (e.fmap.extents.length > FAMFS_MAX_SIMPLE_EXTENTS) {
        throw new LogError(0, seqnum, `${e.fmap.extents.length} extents > ${FAMFS_MAX_SIMPLE_EXTENTS}`);
      }
      v.setUint32(F.fmapExtType, ExtType.SIMPLE, true);
      v.setUint32(F.fmapCount, e.fmap.extents.length, true);
      e.fmap.extents.forEach((x, i) => putExtent(v, F.fmapExtents + i * SIMPLE_EXTENT_SIZE, x));
    } else {
      if (e.fmap.iext.length !== 1) {
        throw new LogError(0, seqnum, "famfs logs hold exactly one interleaved extent");
      }
      const ie = e.fmap.iext[0];
      if (ie.strips.length > FAMFS_MAX_SIMPLE_EXTENTS) {
        throw new LogError(0, seqnum, `${ie.strips.length} strips > ${FAMFS_MAX_SIMPLE_EXTENTS}`);
      }
      if (ie.nbytes !== e.size) {
        throw new LogError(0, seqnum, `interleaved extent of ${ie.nbytes} bytes for a ${e.size}-byte file`);
      }
      v.setUint32(F.fmapExtType, ExtType.INTERLEAVE, true);
      v.setUint32(F.fmapCount, 1, true);
      v.setBigUint64(F.ieNstrips, BigInt(ie.nstrips), true);
      v.setBigUint64(F.ieChunkSize, BigInt(ie.chunkSize), true);
      ie.strips.forEach((x, i) => putExtent(v, F.ieStrips + i * SIMPLE_EXTENT_SIZE, x));
    }
  }
  v.setBigUint64(F.crc, BigInt(crc32(b.subarray(0, F.crc))), true);
  return b;
}

/**
 * Decodes and validates entry `index` (bytes of one entry). `at` is its device
 * offset, used in error messages. Throws LogError.
 */
export function decodeLogEntry(
  b: Uint8Array,
  index: number,
  at: number,
  deviceSize: number,
): AnyLogEntry {
  const F = EntryField;
  const v = new DataView(b.buffer, b.byteOffset, LOG_ENTRY_SIZE);
  const crc = BigInt(crc32(b.subarray(0, F.crc)));
  const stored = v.getBigUint64(F.crc, true);
  if (crc !== stored) {
    throw new LogError(at + F.crc, index, `crc 0x${stored.toString(16)} != computed 0x${crc.toString(16)}`);
  }
  const seq = Number(v.getBigUint64(F.seqnum, true));
  if (seq !== index) {
    throw new LogError(at, index, `seqnum ${seq} != index ${index}`);
  }
  const type = v.getUint32(F.type, true);
  if (type === LogEntryType.MKDIR) {
    const path = getPath(b, F.mkdirRelpath);
    checkRelpath(path, at + F.mkdirRelpath, index);
    return {
      kind: "mkdir",
      uid: v.getUint32(F.mkdirUid, true),
      gid: v.getUint32(F.mkdirGid, true),
      mode: v.getUint32(F.mkdirMode, true),
      path,
    };
  }
  if (type === LogEntryType.ADD_DAXDEV) {
    return {
      kind: "daxdev",
      size: Number(v.getBigUint64(F.daxdevSize, true)),
      uuid: b.slice(F.daxdevUuid, F.daxdevUuid + 16),
      index: v.getUint32(F.daxdevIndex, true),
    };
  }
  if (type !== LogEntryType.FILE) {
    throw new LogError(at + F.type, index, `entry type ${type} is not FILE(0), MKDIR(1) or ADD_DAXDEV(3)`);
  }
  const path = getPath(b, F.fileRelpath);
  checkRelpath(path, at + F.fileRelpath, index);
  const size = Number(v.getBigUint64(F.fileSize, true));
  const ext = v.getUint32(F.fmapExtType, true);
  const n = v.getUint32(F.fmapCount, true);
  let fmap: Fmap;
  if (ext === ExtType.SIMPLE) {
    if (n === 0 || n > FAMFS_MAX_SIMPLE_EXTENTS) {
      throw new LogError(at + F.fmapCount, index, `nextents ${n} not in 1..16`);
    }
    const extents = Array.from({ length: n }, (_, i) => getExtent(v, F.fmapExtents + i * SIMPLE_EXTENT_SIZE));
    extents.forEach((x, i) => checkExtent(x, at + F.fmapExtents + i * SIMPLE_EXTENT_SIZE, index, deviceSize));
    fmap = { type: "simple", extents };
  } else if (ext === ExtType.INTERLEAVE) {
    if (n !== 1) throw new LogError(at + F.fmapCount, index, `niext ${n} is not 1`);
    const nstrips = Number(v.getBigUint64(F.ieNstrips, true));
    const chunkSize = Number(v.getBigUint64(F.ieChunkSize, true));
    if (nstrips === 0 || nstrips > FAMFS_MAX_SIMPLE_EXTENTS) {
      throw new LogError(at + F.ieNstrips, index, `nstrips ${nstrips} not in 1..16`);
    }
    if (chunkSize === 0 || (chunkSize & (chunkSize - 1)) !== 0) {
      throw new LogError(at + F.ieChunkSize, index, `chunk size ${chunkSize} is not a power of 2`);
    }
    const strips = Array.from({ length: nstrips }, (_, i) => getExtent(v, F.ieStrips + i * SIMPLE_EXTENT_SIZE));
    strips.forEach((x, i) => checkExtent(x, at + F.ieStrips + i * SIMPLE_EXTENT_SIZE, index, deviceSize));
    fmap = { type: "interleave", iext: [{ nstrips, chunkSize, nbytes: size, strips }] };
  } else {
    throw new LogError(at + F.fmapExtType, index, `extent type ${ext} is not SIMPLE(0) or INTERLEAVE(1)`);
  }
  if (fmapCapacity(fmap) < size) {
    throw new LogError(
      at + F.fileSize,
      index,
      `file size ${size} exceeds its extents (${fmapCapacity(fmap)} bytes)`,
    );
  }
  return {
    kind: "file",
    size,
    flags: v.getUint32(F.fileFlags, true),
    uid: v.getUint32(F.fileUid, true),
    gid: v.getUint32(F.fileGid, true),
    mode: v.getUint32(F.fileMode, true),
    path,
    fmap,
  };
}

function checkRelpath(path: string, at: number, index: number): void {
  if (
    path.length === 0 || path.startsWith("/") ||
    path.split("/").some((c) => c === "" || c === "." || c === "..")
  ) {
    throw new LogError(
      at,
      index,
      `path "${path}" is not a clean relative path`,
    );
  }
}

function checkExtent(
  x: SimpleExtent,
  at: number,
  index: number,
  deviceSize: number,
): void {
  if (x.offset === 0) {
    throw new LogError(
      at + 8,
      index,
      "extent at offset 0 (only the superblock lives there)",
    );
  }
  if (x.len === 0) throw new LogError(at + 16, index, "extent of length 0");
  if (x.offset + x.len > deviceSize) {
    throw new LogError(
      at + 8,
      index,
      `extent ${x.offset}+${x.len} ends beyond the device (${deviceSize} bytes)`,
    );
  }
}

export function fmapCapacity(f: Fmap): number {
  if (f.type === "simple") return f.extents.reduce((a, x) => a + x.len, 0);
  return f.iext.reduce((a, ie) => a + ie.strips.reduce((s, x) => s + x.len, 0), 0);
}

export interface ReplayResult {
  header: LogHeader;
  entries: Array<{ index: number; entry: LogEntry }>;
  /** ADD_DAXDEV entries: accepted and skipped (real logplay does not act on them yet). */
  daxdevs: Array<{ index: number; entry: DaxdevEntry }>;
  /** Corrupt entries: reported and skipped, later entries still count. */
  errors: LogError[];
}

/**
 * Replays entries [from, next_index) of a log. `log` holds the whole log
 * region; `logOffset` is its device offset (for messages).
 */
export function replayLog(
  log: Uint8Array,
  logOffset: number,
  logLen: number,
  deviceSize: number,
  from = 0,
): ReplayResult {
  const header = checkLogHeader(
    log.subarray(0, LOG_HEADER_SIZE),
    logOffset,
    logLen,
  );
  const entries: ReplayResult["entries"] = [];
  const daxdevs: ReplayResult["daxdevs"] = [];
  const errors: LogError[] = [];
  for (let i = from; i < header.nextIndex; i++) {
    const off = LOG_HEADER_SIZE + i * LOG_ENTRY_SIZE;
    try {
      const entry = decodeLogEntry(log.subarray(off, off + LOG_ENTRY_SIZE), i, logOffset + off, deviceSize);
      if (entry.kind === "daxdev") daxdevs.push({ index: i, entry });
      else entries.push({ index: i, entry });
    } catch (e) {
      if (e instanceof LogError) errors.push(e);
      else throw e;
    }
  }
  return { header, entries, daxdevs, errors };
}

/** Appends an entry in place (entry first, then the header counters). Returns its index. */
export function appendLogEntry(
  log: Uint8Array,
  logOffset: number,
  logLen: number,
  e: AnyLogEntry,
): number {
  const h = checkLogHeader(log.subarray(0, LOG_HEADER_SIZE), logOffset, logLen);
  if (h.nextIndex > h.lastIndex) {
    throw new LogError(
      logOffset,
      undefined,
      `log full (${h.lastIndex + 1} entries)`,
    );
  }
  const index = h.nextIndex;
  log.set(
    encodeLogEntry(h.nextSeqnum, e),
    LOG_HEADER_SIZE + index * LOG_ENTRY_SIZE,
  );
  log.set(
    encodeLogHeader({
      len: h.len,
      lastIndex: h.lastIndex,
      nextSeqnum: h.nextSeqnum + 1,
      nextIndex: index + 1,
    }),
    0,
  );
  return index;
}
