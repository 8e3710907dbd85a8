/**
 * Pure FUSE wire codec: each struct of include/uapi/linux/fuse.h the server
 * handles is one field table (little endian, x86_64), and the decoders of
 * requests and encoders of replies are thin wrappers over those tables.
 */
import { FUSE_KERNEL_VERSION, InitFlag, Size } from "./abi.ts";
import { FuseDecodeError } from "./errors.ts";
import { type Decoded, type Encodable, struct } from "./struct.ts";

const te = new TextEncoder();
const td = new TextDecoder();

export const IN_HEADER = struct("fuse_in_header", [
  { name: "len", type: "u32" },
  { name: "opcode", type: "u32" },
  { name: "unique", type: "u64" },
  { name: "nodeid", type: "u64" },
  { name: "uid", type: "u32" },
  { name: "gid", type: "u32" },
  { name: "pid", type: "u32" },
  { name: "totalExtlen", type: "u16" },
  { name: "padding", type: "u16", zero: true },
]);

export const OUT_HEADER = struct("fuse_out_header", [
  { name: "len", type: "u32" },
  { name: "error", type: "i32" },
  { name: "unique", type: "u64" },
]);

/** Older kernels send only the first 16 bytes. */
export const INIT_IN = struct("fuse_init_in", [
  { name: "major", type: "u32" },
  { name: "minor", type: "u32" },
  { name: "maxReadahead", type: "u32" },
  { name: "flags", type: "u32" },
  { name: "flags2", type: "u32" },
], { size: Size.INIT_IN, minSize: 16 });

export const INIT_OUT = struct("fuse_init_out", [
  { name: "major", type: "u32" },
  { name: "minor", type: "u32" },
  { name: "maxReadahead", type: "u32" },
  { name: "flags", type: "u32" },
  { name: "maxBackground", type: "u16" },
  { name: "congestionThreshold", type: "u16" },
  { name: "maxWrite", type: "u32" },
  { name: "timeGran", type: "u32" },
  { name: "maxPages", type: "u16" },
  { name: "mapAlignment", type: "u16" },
  { name: "flags2", type: "u32" },
  { name: "maxStackDepth", type: "u32" },
  { name: "requestTimeout", type: "u16" },
], { size: Size.INIT_OUT });

export const ATTR = struct("fuse_attr", [
  { name: "ino", type: "u64" },
  { name: "size", type: "u64" },
  { name: "blocks", type: "u64" },
  { name: "atime", type: "u64" },
  { name: "mtime", type: "u64" },
  { name: "ctime", type: "u64" },
  { name: "atimensec", type: "u32" },
  { name: "mtimensec", type: "u32" },
  { name: "ctimensec", type: "u32" },
  { name: "mode", type: "u32" },
  { name: "nlink", type: "u32" },
  { name: "uid", type: "u32" },
  { name: "gid", type: "u32" },
  { name: "rdev", type: "u32" },
  { name: "blksize", type: "u32" },
  { name: "flags", type: "u32" },
]);

/** fuse_entry_out up to its fuse_attr, which follows at offset 40. */
export const ENTRY_OUT_HEAD = struct("fuse_entry_out", [
  { name: "nodeid", type: "u64" },
  { name: "generation", type: "u64" },
  { name: "entryValid", type: "u64" },
  { name: "attrValid", type: "u64" },
  { name: "entryValidNsec", type: "u32" },
  { name: "attrValidNsec", type: "u32" },
]);

/** fuse_attr_out up to its fuse_attr, which follows at offset 16. */
export const ATTR_OUT_HEAD = struct("fuse_attr_out", [
  { name: "attrValid", type: "u64" },
  { name: "attrValidNsec", type: "u32" },
  { name: "dummy", type: "u32", zero: true },
]);

export const GETATTR_IN = struct("fuse_getattr_in", [
  { name: "getattrFlags", type: "u32" },
  { name: "dummy", type: "u32", zero: true },
  { name: "fh", type: "u64" },
]);

export const SETATTR_IN = struct("fuse_setattr_in", [
  { name: "valid", type: "u32" },
  { name: "padding", type: "u32", zero: true },
  { name: "fh", type: "u64" },
  { name: "size", type: "u64" },
  { name: "lockOwner", type: "u64" },
  { name: "atime", type: "u64" },
  { name: "mtime", type: "u64" },
  { name: "ctime", type: "u64" },
  { name: "atimensec", type: "u32" },
  { name: "mtimensec", type: "u32" },
  { name: "ctimensec", type: "u32" },
  { name: "mode", type: "u32" },
  { name: "unused4", type: "u32", zero: true },
  { name: "uid", type: "u32" },
  { name: "gid", type: "u32" },
  { name: "unused5", type: "u32", zero: true },
]);

export const OPEN_IN = struct("fuse_open_in", [
  { name: "flags", type: "u32" },
  { name: "openFlags", type: "u32" },
]);

export const OPEN_OUT = struct("fuse_open_out", [
  { name: "fh", type: "u64" },
  { name: "openFlags", type: "u32" },
  { name: "backingId", type: "i32", zero: true },
]);

/** Kernels before 7.8 send 16 bytes. */
export const RELEASE_IN = struct("fuse_release_in", [
  { name: "fh", type: "u64" },
  { name: "flags", type: "u32" },
  { name: "releaseFlags", type: "u32" },
  { name: "lockOwner", type: "u64" },
], { minSize: 16 });

/** Kernels before 7.9 send 24 bytes. */
export const READ_IN = struct("fuse_read_in", [
  { name: "fh", type: "u64" },
  { name: "offset", type: "u64" },
  { name: "size", type: "u32" },
  { name: "readFlags", type: "u32" },
  { name: "lockOwner", type: "u64" },
  { name: "flags", type: "u32" },
  { name: "padding", type: "u32", zero: true },
], { minSize: 24 });

/** Followed by `size` data bytes. */
export const WRITE_IN = struct("fuse_write_in", [
  { name: "fh", type: "u64" },
  { name: "offset", type: "u64" },
  { name: "size", type: "u32" },
  { name: "writeFlags", type: "u32" },
  { name: "lockOwner", type: "u64" },
  { name: "flags", type: "u32" },
  { name: "padding", type: "u32", zero: true },
]);

export const WRITE_OUT = struct("fuse_write_out", [
  { name: "size", type: "u32" },
  { name: "padding", type: "u32", zero: true },
]);

export const FORGET_IN = struct("fuse_forget_in", [{ name: "nlookup", type: "u64" }]);

/** Followed by `count` fuse_forget_one. */
export const BATCH_FORGET_IN = struct("fuse_batch_forget_in", [
  { name: "count", type: "u32" },
  { name: "dummy", type: "u32", zero: true },
]);

export const FORGET_ONE = struct("fuse_forget_one", [
  { name: "nodeid", type: "u64" },
  { name: "nlookup", type: "u64" },
]);

export const INTERRUPT_IN = struct("fuse_interrupt_in", [{ name: "unique", type: "u64" }]);

export const ACCESS_IN = struct("fuse_access_in", [
  { name: "mask", type: "u32" },
  { name: "padding", type: "u32", zero: true },
]);

/** GETXATTR and LISTXATTR; followed by the name for GETXATTR. */
export const GETXATTR_IN = struct("fuse_getxattr_in", [
  { name: "size", type: "u32" },
  { name: "padding", type: "u32", zero: true },
]);

export const GETXATTR_OUT = struct("fuse_getxattr_out", [
  { name: "size", type: "u32" },
  { name: "padding", type: "u32", zero: true },
]);

export const KSTATFS = struct("fuse_kstatfs", [
  { name: "blocks", type: "u64" },
  { name: "bfree", type: "u64" },
  { name: "bavail", type: "u64" },
  { name: "files", type: "u64" },
  { name: "ffree", type: "u64" },
  { name: "bsize", type: "u32" },
  { name: "namelen", type: "u32" },
  { name: "frsize", type: "u32" },
], { size: Size.KSTATFS });

/** Followed by `namelen` name bytes, the record padded to 8 bytes. */
export const DIRENT = struct("fuse_dirent", [
  { name: "ino", type: "u64" },
  { name: "off", type: "u64" },
  { name: "namelen", type: "u32" },
  { name: "type", type: "u32" },
]);

export type InHeader = Encodable<typeof IN_HEADER.fields>;

export function decodeInHeader(buf: Uint8Array): InHeader {
  return IN_HEADER.decode(buf);
}

export function encodeInHeader(h: InHeader): Uint8Array {
  return IN_HEADER.encode(h);
}

/** A NUL-terminated name at the start of `buf`. */
export function decodeName(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  if (end < 0) throw new FuseDecodeError("name is not NUL-terminated");
  const bytes = buf.subarray(0, end);
  // ASCII (the usual name) decodes the same either way; fromCharCode skips TextDecoder's op call on every LOOKUP.
  if (end <= ASCII_FAST_MAX && isAscii(bytes)) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return td.decode(bytes);
}

const ASCII_FAST_MAX = 255;

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) return false;
  return true;
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32 (flags2 only when INIT_EXT is set). */
  flags: bigint;
}

const lo32 = (x: bigint) => Number(x & 0xffffffffn);
const hi32 = (x: bigint) => Number(x >> 32n);

export function decodeInitIn(buf: Uint8Array): InitIn {
  const i = INIT_IN.decode(buf);
  const lo = BigInt(i.flags);
  const hi = (lo & InitFlag.INIT_EXT) !== 0n ? BigInt(i.flags2) : 0n;
  return { major: i.major, minor: i.minor, maxReadahead: i.maxReadahead, flags: lo | (hi << 32n) };
}

export function encodeInitIn(i: InitIn): Uint8Array {
  return INIT_IN.encode({ ...i, flags: lo32(i.flags), flags2: hi32(i.flags) });
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: bigint;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
  mapAlignment: number;
  maxStackDepth: number;
  requestTimeout: number;
}

export function encodeInitOut(o: InitOut): Uint8Array {
  return INIT_OUT.encode({ ...o, flags: lo32(o.flags), flags2: hi32(o.flags) });
}

export function defaultInitOut(minor: number): InitOut {
  return {
    major: FUSE_KERNEL_VERSION,
    minor,
    maxReadahead: 0,
    flags: 0n,
    maxBackground: 16,
    congestionThreshold: 12,
    maxWrite: 1 << 20,
    timeGran: 1,
    maxPages: 256,
    mapAlignment: 0,
    maxStackDepth: 0,
    requestTimeout: 0,
  };
}

export type Attr = Decoded<typeof ATTR.fields>;

export function decodeAttr(buf: Uint8Array, off = 0): Attr {
  return ATTR.decode(buf, off);
}

/** Cache timeout, split into seconds and nanoseconds. */
export interface Timeout {
  sec: bigint;
  nsec: number;
}

export function timeoutFromMs(ms: number): Timeout {
  const sec = Math.floor(ms / 1000);
  return { sec: BigInt(sec), nsec: Math.round((ms - sec * 1000) * 1e6) };
}

export interface EntryOut {
  nodeid: bigint;
  generation: bigint;
  entryValid: Timeout;
  attrValid: Timeout;
  attr: Attr;
}

function writeEntryOut(out: Uint8Array, off: number, e: EntryOut): void {
  ENTRY_OUT_HEAD.encodeInto(out, off, {
    nodeid: e.nodeid,
    generation: e.generation,
    entryValid: e.entryValid.sec,
    attrValid: e.attrValid.sec,
    entryValidNsec: e.entryValid.nsec,
    attrValidNsec: e.attrValid.nsec,
  });
  ATTR.encodeInto(out, off + ENTRY_OUT_HEAD.size, e.attr);
}

function readEntryOut(buf: Uint8Array, off: number): EntryOut {
  const h = ENTRY_OUT_HEAD.decode(buf, off);
  return {
    nodeid: h.nodeid,
    generation: h.generation,
    entryValid: { sec: h.entryValid, nsec: h.entryValidNsec },
    attrValid: { sec: h.attrValid, nsec: h.attrValidNsec },
    attr: ATTR.decode(buf, off + ENTRY_OUT_HEAD.size),
  };
}

/** The reply encoders write into `out` when given (zeroed, e.g. FuseRequest.payload()), else into new bytes. */
export function encodeEntryOut(e: EntryOut, out: Uint8Array = new Uint8Array(Size.ENTRY_OUT)): Uint8Array {
  writeEntryOut(out, 0, e);
  return out;
}

export function encodeAttrOut(
  attrValid: Timeout,
  attr: Attr,
  out: Uint8Array = new Uint8Array(Size.ATTR_OUT),
): Uint8Array {
  ATTR_OUT_HEAD.encodeInto(out, 0, { attrValid: attrValid.sec, attrValidNsec: attrValid.nsec });
  ATTR.encodeInto(out, ATTR_OUT_HEAD.size, attr);
  return out;
}

export interface GetattrIn {
  getattrFlags: number;
  fh: bigint;
}

/** Kernels before 7.9 send no body: no flags, no handle. */
export function decodeGetattrIn(buf: Uint8Array): GetattrIn {
  if (buf.byteLength < GETATTR_IN.size) return { getattrFlags: 0, fh: 0n };
  const g = GETATTR_IN.decode(buf);
  return { getattrFlags: g.getattrFlags, fh: g.fh };
}

export type SetattrIn = Decoded<typeof SETATTR_IN.fields>;

export function decodeSetattrIn(buf: Uint8Array): SetattrIn {
  return SETATTR_IN.decode(buf);
}

export type OpenIn = Decoded<typeof OPEN_IN.fields>;

export function decodeOpenIn(buf: Uint8Array): OpenIn {
  return OPEN_IN.decode(buf);
}

export function encodeOpenOut(
  fh: bigint,
  openFlags: number,
  out: Uint8Array = new Uint8Array(Size.OPEN_OUT),
): Uint8Array {
  OPEN_OUT.encodeInto(out, 0, { fh, openFlags });
  return out;
}

export type ReleaseIn = Decoded<typeof RELEASE_IN.fields>;

export function decodeReleaseIn(buf: Uint8Array): ReleaseIn {
  return RELEASE_IN.decode(buf);
}

export interface ReadIn {
  fh: bigint;
  offset: number;
  size: number;
  readFlags: number;
  flags: number;
}

export function decodeReadIn(buf: Uint8Array): ReadIn {
  const r = READ_IN.decode(buf);
  return { fh: r.fh, offset: Number(r.offset), size: r.size, readFlags: r.readFlags, flags: r.flags };
}

export interface WriteIn {
  fh: bigint;
  offset: number;
  size: number;
  writeFlags: number;
  data: Uint8Array;
}

export function decodeWriteIn(buf: Uint8Array): WriteIn {
  const w = WRITE_IN.decode(buf);
  if (buf.byteLength < WRITE_IN.size + w.size) {
    throw new FuseDecodeError(
      `WRITE: declares ${w.size} data bytes, body carries ${buf.byteLength - WRITE_IN.size}`,
    );
  }
  return {
    fh: w.fh,
    offset: Number(w.offset),
    size: w.size,
    writeFlags: w.writeFlags,
    data: buf.subarray(WRITE_IN.size, WRITE_IN.size + w.size),
  };
}

export function encodeWriteOut(size: number, out: Uint8Array = new Uint8Array(WRITE_OUT.size)): Uint8Array {
  WRITE_OUT.encodeInto(out, 0, { size });
  return out;
}

export function decodeForgetIn(buf: Uint8Array): bigint {
  return FORGET_IN.decode(buf).nlookup;
}

export type ForgetOne = Decoded<typeof FORGET_ONE.fields>;

export function decodeBatchForgetIn(buf: Uint8Array): ForgetOne[] {
  const { count } = BATCH_FORGET_IN.decode(buf);
  const out: ForgetOne[] = [];
  for (let i = 0; i < count; i++) {
    const off = BATCH_FORGET_IN.size + i * FORGET_ONE.size;
    if (off + FORGET_ONE.size > buf.byteLength) {
      throw new FuseDecodeError(
        `BATCH_FORGET: count ${count} exceeds body of ${buf.byteLength} bytes`,
      );
    }
    out.push(FORGET_ONE.decode(buf, off));
  }
  return out;
}

export function decodeInterruptIn(buf: Uint8Array): bigint {
  return INTERRUPT_IN.decode(buf).unique;
}

export function decodeAccessIn(buf: Uint8Array): number {
  return ACCESS_IN.decode(buf).mask;
}

/** The caller's buffer size (0: asks for the size needed). */
export function decodeGetxattrIn(buf: Uint8Array): number {
  return GETXATTR_IN.decode(buf).size;
}

export function encodeGetxattrOut(size: number): Uint8Array {
  return GETXATTR_OUT.encode({ size });
}

export type Kstatfs = Encodable<typeof KSTATFS.fields>;

export function encodeStatfsOut(s: Kstatfs): Uint8Array {
  return KSTATFS.encode(s);
}

/** Full reply message: out header + payload. */
export function encodeReply(
  unique: bigint,
  error: number,
  payload?: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const len = OUT_HEADER.size + (payload?.byteLength ?? 0);
  const out = new Uint8Array(len);
  OUT_HEADER.encodeInto(out, 0, { len, error: error > 0 ? -error : error, unique });
  if (payload) out.set(payload, OUT_HEADER.size);
  return out;
}

export type OutHeader = Decoded<typeof OUT_HEADER.fields>;

export function decodeOutHeader(buf: Uint8Array): OutHeader {
  return OUT_HEADER.decode(buf);
}

const align8 = (n: number) => (n + 7) & ~7;

/** Accumulates fuse_dirent / fuse_direntplus records up to a byte limit. */
export class DirentBuffer {
  private chunks: Uint8Array[] = [];
  private used = 0;
  constructor(readonly limit: number, readonly plus: boolean) {}

  /** Adds one entry; returns false (and adds nothing) when it would not fit. */
  add(
    name: string,
    ino: bigint,
    off: bigint,
    type: number,
    entry?: EntryOut,
  ): boolean {
    const nameBytes = te.encode(name);
    const base = (this.plus ? Size.ENTRY_OUT : 0) + DIRENT.size;
    const recLen = align8(base + nameBytes.byteLength);
    if (this.used + recLen > this.limit) return false;
    const rec = new Uint8Array(recLen);
    let p = 0;
    if (this.plus) {
      if (!entry) throw new FuseDecodeError("direntplus needs an entry");
      writeEntryOut(rec, 0, entry);
      p = Size.ENTRY_OUT;
    }
    DIRENT.encodeInto(rec, p, { ino, off, namelen: nameBytes.byteLength, type });
    rec.set(nameBytes, p + DIRENT.size);
    this.chunks.push(rec);
    this.used += recLen;
    return true;
  }

  get byteLength(): number {
    return this.used;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.used);
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.byteLength;
    }
    return out;
  }
}

export interface Dirent {
  ino: bigint;
  off: bigint;
  type: number;
  name: string;
  entry?: EntryOut;
}

/** Decodes a READDIR / READDIRPLUS payload (used by tests). */
export function decodeDirents(buf: Uint8Array, plus: boolean): Dirent[] {
  const out: Dirent[] = [];
  let p = 0;
  while (p < buf.byteLength) {
    const entry = plus ? readEntryOut(buf, p) : undefined;
    const q = plus ? p + Size.ENTRY_OUT : p;
    const d = DIRENT.decode(buf, q);
    const nameAt = q + DIRENT.size;
    out.push({
      ino: d.ino,
      off: d.off,
      type: d.type,
      name: td.decode(buf.subarray(nameAt, nameAt + d.namelen)),
      entry,
    });
    p = q + align8(DIRENT.size + d.namelen);
  }
  return out;
}
