/**
 * Pure FUSE wire codec: decoders for the requests the server handles and
 * encoders for their replies. Little endian, x86_64 layouts.
 */
import { FUSE_KERNEL_VERSION, Size } from "./abi.ts";
import { FuseDecodeError } from "./errors.ts";

const te = new TextEncoder();
const td = new TextDecoder();

export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
  totalExtlen: number;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function need(buf: Uint8Array, n: number, what: string): DataView {
  if (buf.byteLength < n) {
    throw new FuseDecodeError(
      `${what}: body has ${buf.byteLength} bytes, needs ${n}`,
    );
  }
  return view(buf);
}

export function decodeInHeader(buf: Uint8Array): InHeader {
  const v = need(buf, Size.IN_HEADER, "fuse_in_header");
  return {
    len: v.getUint32(0, true),
    opcode: v.getUint32(4, true),
    unique: v.getBigUint64(8, true),
    nodeid: v.getBigUint64(16, true),
    uid: v.getUint32(24, true),
    gid: v.getUint32(28, true),
    pid: v.getUint32(32, true),
    totalExtlen: v.getUint16(36, true),
  };
}

export function encodeInHeader(h: InHeader): Uint8Array {
  const out = new Uint8Array(Size.IN_HEADER);
  const v = view(out);
  v.setUint32(0, h.len, true);
  v.setUint32(4, h.opcode, true);
  v.setBigUint64(8, h.unique, true);
  v.setBigUint64(16, h.nodeid, true);
  v.setUint32(24, h.uid, true);
  v.setUint32(28, h.gid, true);
  v.setUint32(32, h.pid, true);
  v.setUint16(36, h.totalExtlen, true);
  return out;
}

/** A NUL-terminated name at the start of `buf`. */
export function decodeName(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  if (end < 0) throw new FuseDecodeError("name is not NUL-terminated");
  return td.decode(buf.subarray(0, end));
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32 (flags2 only when INIT_EXT is set). */
  flags: bigint;
}

export function decodeInitIn(buf: Uint8Array): InitIn {
  const v = need(buf, 16, "fuse_init_in");
  const lo = BigInt(v.getUint32(12, true));
  const hi = buf.byteLength >= 20 && (lo & (1n << 30n)) !== 0n ? BigInt(v.getUint32(16, true)) : 0n;
  return {
    major: v.getUint32(0, true),
    minor: v.getUint32(4, true),
    maxReadahead: v.getUint32(8, true),
    flags: lo | (hi << 32n),
  };
}

export function encodeInitIn(i: InitIn): Uint8Array {
  const out = new Uint8Array(Size.INIT_IN);
  const v = view(out);
  v.setUint32(0, i.major, true);
  v.setUint32(4, i.minor, true);
  v.setUint32(8, i.maxReadahead, true);
  v.setUint32(12, Number(i.flags & 0xffffffffn), true);
  v.setUint32(16, Number(i.flags >> 32n), true);
  return out;
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
  const out = new Uint8Array(Size.INIT_OUT);
  const v = view(out);
  v.setUint32(0, o.major, true);
  v.setUint32(4, o.minor, true);
  v.setUint32(8, o.maxReadahead, true);
  v.setUint32(12, Number(o.flags & 0xffffffffn), true);
  v.setUint16(16, o.maxBackground, true);
  v.setUint16(18, o.congestionThreshold, true);
  v.setUint32(20, o.maxWrite, true);
  v.setUint32(24, o.timeGran, true);
  v.setUint16(28, o.maxPages, true);
  v.setUint16(30, o.mapAlignment, true);
  v.setUint32(32, Number(o.flags >> 32n), true);
  v.setUint32(36, o.maxStackDepth, true);
  v.setUint16(40, o.requestTimeout, true);
  return out;
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

export interface Attr {
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  flags: number;
}

function writeAttr(v: DataView, off: number, a: Attr): void {
  v.setBigUint64(off + 0, a.ino, true);
  v.setBigUint64(off + 8, a.size, true);
  v.setBigUint64(off + 16, a.blocks, true);
  v.setBigUint64(off + 24, a.atime, true);
  v.setBigUint64(off + 32, a.mtime, true);
  v.setBigUint64(off + 40, a.ctime, true);
  v.setUint32(off + 48, a.atimensec, true);
  v.setUint32(off + 52, a.mtimensec, true);
  v.setUint32(off + 56, a.ctimensec, true);
  v.setUint32(off + 60, a.mode, true);
  v.setUint32(off + 64, a.nlink, true);
  v.setUint32(off + 68, a.uid, true);
  v.setUint32(off + 72, a.gid, true);
  v.setUint32(off + 76, a.rdev, true);
  v.setUint32(off + 80, a.blksize, true);
  v.setUint32(off + 84, a.flags, true);
}

export function decodeAttr(buf: Uint8Array, off = 0): Attr {
  const v = need(buf, off + Size.ATTR, "fuse_attr");
  return {
    ino: v.getBigUint64(off, true),
    size: v.getBigUint64(off + 8, true),
    blocks: v.getBigUint64(off + 16, true),
    atime: v.getBigUint64(off + 24, true),
    mtime: v.getBigUint64(off + 32, true),
    ctime: v.getBigUint64(off + 40, true),
    atimensec: v.getUint32(off + 48, true),
    mtimensec: v.getUint32(off + 52, true),
    ctimensec: v.getUint32(off + 56, true),
    mode: v.getUint32(off + 60, true),
    nlink: v.getUint32(off + 64, true),
    uid: v.getUint32(off + 68, true),
    gid: v.getUint32(off + 72, true),
    rdev: v.getUint32(off + 76, true),
    blksize: v.getUint32(off + 80, true),
    flags: v.getUint32(off + 84, true),
  };
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

function writeEntryOut(v: DataView, off: number, e: EntryOut): void {
  v.setBigUint64(off + 0, e.nodeid, true);
  v.setBigUint64(off + 8, e.generation, true);
  v.setBigUint64(off + 16, e.entryValid.sec, true);
  v.setBigUint64(off + 24, e.attrValid.sec, true);
  v.setUint32(off + 32, e.entryValid.nsec, true);
  v.setUint32(off + 36, e.attrValid.nsec, true);
  writeAttr(v, off + 40, e.attr);
}

export function encodeEntryOut(e: EntryOut): Uint8Array {
  const out = new Uint8Array(Size.ENTRY_OUT);
  writeEntryOut(view(out), 0, e);
  return out;
}

export function encodeAttrOut(attrValid: Timeout, attr: Attr): Uint8Array {
  const out = new Uint8Array(Size.ATTR_OUT);
  const v = view(out);
  v.setBigUint64(0, attrValid.sec, true);
  v.setUint32(8, attrValid.nsec, true);
  writeAttr(v, 16, attr);
  return out;
}

export interface GetattrIn {
  getattrFlags: number;
  fh: bigint;
}

export function decodeGetattrIn(buf: Uint8Array): GetattrIn {
  if (buf.byteLength < Size.GETATTR_IN) return { getattrFlags: 0, fh: 0n };
  const v = view(buf);
  return { getattrFlags: v.getUint32(0, true), fh: v.getBigUint64(8, true) };
}

export interface SetattrIn {
  valid: number;
  fh: bigint;
  size: bigint;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  mode: number;
  uid: number;
  gid: number;
}

export function decodeSetattrIn(buf: Uint8Array): SetattrIn {
  const v = need(buf, Size.SETATTR_IN, "fuse_setattr_in");
  return {
    valid: v.getUint32(0, true),
    fh: v.getBigUint64(8, true),
    size: v.getBigUint64(16, true),
    atime: v.getBigUint64(32, true),
    mtime: v.getBigUint64(40, true),
    ctime: v.getBigUint64(48, true),
    atimensec: v.getUint32(56, true),
    mtimensec: v.getUint32(60, true),
    ctimensec: v.getUint32(64, true),
    mode: v.getUint32(68, true),
    uid: v.getUint32(76, true),
    gid: v.getUint32(80, true),
  };
}

export interface OpenIn {
  flags: number;
  openFlags: number;
}

export function decodeOpenIn(buf: Uint8Array): OpenIn {
  const v = need(buf, Size.OPEN_IN, "fuse_open_in");
  return { flags: v.getUint32(0, true), openFlags: v.getUint32(4, true) };
}

export function encodeOpenOut(fh: bigint, openFlags: number): Uint8Array {
  const out = new Uint8Array(Size.OPEN_OUT);
  const v = view(out);
  v.setBigUint64(0, fh, true);
  v.setUint32(8, openFlags, true);
  return out;
}

export interface ReleaseIn {
  fh: bigint;
  flags: number;
  releaseFlags: number;
}

export function decodeReleaseIn(buf: Uint8Array): ReleaseIn {
  const v = need(buf, 16, "fuse_release_in");
  return {
    fh: v.getBigUint64(0, true),
    flags: v.getUint32(8, true),
    releaseFlags: v.getUint32(12, true),
  };
}

export interface ReadIn {
  fh: bigint;
  offset: number;
  size: number;
  readFlags: number;
  flags: number;
}

export function decodeReadIn(buf: Uint8Array): ReadIn {
  const v = need(buf, 24, "fuse_read_in");
  return {
    fh: v.getBigUint64(0, true),
    offset: Number(v.getBigUint64(8, true)),
    size: v.getUint32(16, true),
    readFlags: v.getUint32(20, true),
    flags: buf.byteLength >= 36 ? v.getUint32(32, true) : 0,
  };
}

export interface WriteIn {
  fh: bigint;
  offset: number;
  size: number;
  writeFlags: number;
  data: Uint8Array;
}

export function decodeWriteIn(buf: Uint8Array): WriteIn {
  const v = need(buf, Size.WRITE_IN, "fuse_write_in");
  const size = v.getUint32(16, true);
  if (buf.byteLength < Size.WRITE_IN + size) {
    throw new FuseDecodeError(
      `WRITE: declares ${size} data bytes, body carries ${buf.byteLength - Size.WRITE_IN}`,
    );
  }
  return {
    fh: v.getBigUint64(0, true),
    offset: Number(v.getBigUint64(8, true)),
    size,
    writeFlags: v.getUint32(20, true),
    data: buf.subarray(Size.WRITE_IN, Size.WRITE_IN + size),
  };
}

export function encodeWriteOut(size: number): Uint8Array {
  const out = new Uint8Array(Size.WRITE_OUT);
  view(out).setUint32(0, size, true);
  return out;
}

export function decodeFhIn(buf: Uint8Array, what: string): bigint {
  return need(buf, 8, what).getBigUint64(0, true);
}

export function decodeForgetIn(buf: Uint8Array): bigint {
  return need(buf, Size.FORGET_IN, "fuse_forget_in").getBigUint64(0, true);
}

export interface ForgetOne {
  nodeid: bigint;
  nlookup: bigint;
}

export function decodeBatchForgetIn(buf: Uint8Array): ForgetOne[] {
  const v = need(buf, Size.BATCH_FORGET_IN, "fuse_batch_forget_in");
  const count = v.getUint32(0, true);
  const out: ForgetOne[] = [];
  for (let i = 0; i < count; i++) {
    const off = Size.BATCH_FORGET_IN + i * Size.FORGET_ONE;
    if (off + Size.FORGET_ONE > buf.byteLength) {
      throw new FuseDecodeError(
        `BATCH_FORGET: count ${count} exceeds body of ${buf.byteLength} bytes`,
      );
    }
    out.push({
      nodeid: v.getBigUint64(off, true),
      nlookup: v.getBigUint64(off + 8, true),
    });
  }
  return out;
}

export function decodeInterruptIn(buf: Uint8Array): bigint {
  return need(buf, Size.INTERRUPT_IN, "fuse_interrupt_in").getBigUint64(
    0,
    true,
  );
}

export function decodeAccessIn(buf: Uint8Array): number {
  return need(buf, Size.ACCESS_IN, "fuse_access_in").getUint32(0, true);
}

export function encodeGetxattrOut(size: number): Uint8Array {
  const out = new Uint8Array(Size.GETXATTR_OUT);
  view(out).setUint32(0, size, true);
  return out;
}

export interface Kstatfs {
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  bsize: number;
  namelen: number;
  frsize: number;
}

export function encodeStatfsOut(s: Kstatfs): Uint8Array {
  const out = new Uint8Array(Size.KSTATFS);
  const v = view(out);
  v.setBigUint64(0, s.blocks, true);
  v.setBigUint64(8, s.bfree, true);
  v.setBigUint64(16, s.bavail, true);
  v.setBigUint64(24, s.files, true);
  v.setBigUint64(32, s.ffree, true);
  v.setUint32(40, s.bsize, true);
  v.setUint32(44, s.namelen, true);
  v.setUint32(48, s.frsize, true);
  return out;
}

/** Full reply message: out header + payload. */
export function encodeReply(
  unique: bigint,
  error: number,
  payload?: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const len = Size.OUT_HEADER + (payload?.byteLength ?? 0);
  const out = new Uint8Array(len);
  const v = view(out);
  v.setUint32(0, len, true);
  v.setInt32(4, error > 0 ? -error : error, true);
  v.setBigUint64(8, unique, true);
  if (payload) out.set(payload, Size.OUT_HEADER);
  return out;
}

export interface OutHeader {
  len: number;
  error: number;
  unique: bigint;
}

export function decodeOutHeader(buf: Uint8Array): OutHeader {
  const v = need(buf, Size.OUT_HEADER, "fuse_out_header");
  return {
    len: v.getUint32(0, true),
    error: v.getInt32(4, true),
    unique: v.getBigUint64(8, true),
  };
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
    const base = (this.plus ? Size.ENTRY_OUT : 0) + Size.DIRENT_BASE;
    const recLen = align8(base + nameBytes.byteLength);
    if (this.used + recLen > this.limit) return false;
    const rec = new Uint8Array(recLen);
    const v = view(rec);
    let p = 0;
    if (this.plus) {
      if (!entry) throw new FuseDecodeError("direntplus needs an entry");
      writeEntryOut(v, 0, entry);
      p = Size.ENTRY_OUT;
    }
    v.setBigUint64(p, ino, true);
    v.setBigUint64(p + 8, off, true);
    v.setUint32(p + 16, nameBytes.byteLength, true);
    v.setUint32(p + 20, type, true);
    rec.set(nameBytes, p + Size.DIRENT_BASE);
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
  const v = view(buf);
  let p = 0;
  while (p < buf.byteLength) {
    let entry: EntryOut | undefined;
    let q = p;
    if (plus) {
      entry = {
        nodeid: v.getBigUint64(p, true),
        generation: v.getBigUint64(p + 8, true),
        entryValid: {
          sec: v.getBigUint64(p + 16, true),
          nsec: v.getUint32(p + 32, true),
        },
        attrValid: {
          sec: v.getBigUint64(p + 24, true),
          nsec: v.getUint32(p + 36, true),
        },
        attr: decodeAttr(buf, p + 40),
      };
      q += Size.ENTRY_OUT;
    }
    const namelen = v.getUint32(q + 16, true);
    out.push({
      ino: v.getBigUint64(q, true),
      off: v.getBigUint64(q + 8, true),
      type: v.getUint32(q + 20, true),
      name: td.decode(
        buf.subarray(q + Size.DIRENT_BASE, q + Size.DIRENT_BASE + namelen),
      ),
      entry,
    });
    p = q + align8(Size.DIRENT_BASE + namelen);
  }
  return out;
}
