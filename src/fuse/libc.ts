/**
 * libc bindings through Deno FFI (needs --allow-ffi). Only thin wrappers:
 * each throws LibcError with the failing call and its argument.
 */
import { LibcError } from "./errors.ts";

const symbols = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pread: {
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "isize",
    nonblocking: true,
  },
  preadSync: {
    name: "pread",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "isize",
  },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  readSync: {
    name: "read",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
  },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  writev: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  mount: {
    parameters: ["buffer", "buffer", "buffer", "u64", "buffer"],
    result: "i32",
  },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  stat: { parameters: ["buffer", "buffer"], result: "i32" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  setgroups: { parameters: ["usize", "pointer"], result: "i32" },
  setresgid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  setresuid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Lib = Deno.DynamicLibrary<typeof symbols>["symbols"];
let lib: Lib | undefined;

function libc(): Lib {
  if (!lib) lib = Deno.dlopen("libc.so.6", symbols).symbols;
  return lib;
}

const te = new TextEncoder();
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(te.encode(s).byteLength + 1);
  te.encodeInto(s, b);
  return b;
}

/** errno of the last failed synchronous call on this thread. */
export function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

// Linux x86_64 errno values the famfs paths can return, by the names the guest probes report.
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  103: "ECONNABORTED",
  107: "ENOTCONN",
  114: "EALREADY",
};

/** Name of an errno value, by default of the last failure: "ENOENT" for 2, "errno N" if not in the table. */
export function errnoName(e = errno()): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

export function strerror(e: number): string {
  const p = libc().strerror(e);
  return p ? Deno.UnsafePointerView.getCString(p) : `errno ${e}`;
}

function fail(call: string, arg: string): never {
  const e = errno();
  throw new LibcError(call, e, `${arg}: ${strerror(e)}`);
}

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;

export function open(path: string, flags: number, mode = 0): number {
  const fd = libc().open(cstr(path), flags, mode);
  if (fd < 0) fail("open", path);
  return fd;
}

/**
 * open(2) that returns -1 on failure (then see errno()) instead of throwing.
 * A loop that times opens passes a cstr() made once.
 */
export function tryOpen(path: string | Uint8Array<ArrayBuffer>, flags: number): number {
  return libc().open(typeof path === "string" ? cstr(path) : path, flags, 0);
}

export function close(fd: number): void {
  libc().close(fd);
}

/** Blocking read; returns bytes read or -1. */
export function readSync(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  return Number(libc().readSync(fd, buf, BigInt(buf.byteLength)));
}

/** pread through libc on a worker thread; never blocks the JS thread. */
export async function preadAsync(
  fd: number,
  buf: Uint8Array<ArrayBuffer>,
  offset: number,
): Promise<number> {
  return Number(
    await libc().pread(fd, buf, BigInt(buf.byteLength), BigInt(offset)),
  );
}

/** Blocking pread; returns bytes read or -1 (then see errno()). */
export function preadSync(fd: number, buf: Uint8Array<ArrayBuffer>, offset: number): number {
  return Number(libc().preadSync(fd, buf, BigInt(buf.byteLength), BigInt(offset)));
}

/** pwrite; returns bytes written or -1 (then see errno()). */
export function pwrite(fd: number, buf: Uint8Array<ArrayBuffer>, offset: number): number {
  return Number(libc().pwrite(fd, buf, BigInt(buf.byteLength), BigInt(offset)));
}

export const FUSE_MIN_BUFFER = 8192 + 40;

/** write(2) of the first `len` bytes of `buf` (default: all of it). */
export function write(
  fd: number,
  buf: Uint8Array<ArrayBuffer>,
  len = buf.byteLength,
): { n: number; errno: number } {
  const n = Number(libc().write(fd, buf, BigInt(len)));
  return { n, errno: n < 0 ? errno() : 0 };
}

/** writev of a list of (pointer, length) pieces. */
export function writev(
  fd: number,
  pieces: Array<{ ptr: Deno.PointerValue; len: number }>,
): { n: number; errno: number } {
  const iov = new BigUint64Array(pieces.length * 2);
  pieces.forEach((p, i) => {
    iov[i * 2] = BigInt(Deno.UnsafePointer.value(p.ptr));
    iov[i * 2 + 1] = BigInt(p.len);
  });
  return writevRaw(fd, new Uint8Array(iov.buffer), pieces.length);
}

/** writev of `count` struct iovec (base, length: two u64 each) already laid out in `iov`. */
export function writevRaw(fd: number, iov: Uint8Array<ArrayBuffer>, count: number): { n: number; errno: number } {
  const n = Number(libc().writev(fd, iov, count));
  return { n, errno: n < 0 ? errno() : 0 };
}

export function ioctl(
  fd: number,
  request: bigint,
  arg: Uint8Array<ArrayBuffer>,
  what: string,
): number {
  const r = libc().ioctl(fd, request, arg);
  if (r < 0) fail("ioctl", what);
  return r;
}

export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

/** poll(2) on one fd; returns revents (0 on timeout). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, events, true);
  const r = libc().poll(pfd, 1n, timeoutMs);
  if (r < 0) return 0;
  return v.getInt16(6, true);
}

export const MS_NOSUID = 2n;
export const MS_NODEV = 4n;
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;

export function mount(
  source: string,
  target: string,
  fstype: string,
  flags: bigint,
  data: string,
): void {
  const r = libc().mount(
    cstr(source),
    cstr(target),
    cstr(fstype),
    flags,
    cstr(data),
  );
  if (r < 0) fail("mount", `${fstype} on ${target}`);
}

/** umount2; returns errno (0 on success) instead of throwing. */
export function umount2(target: string, flags: number): number {
  const r = libc().umount2(cstr(target), flags);
  return r < 0 ? errno() : 0;
}

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

export interface Mapping {
  ptr: Deno.PointerObject;
  length: number;
  bytes: Uint8Array<ArrayBuffer>;
}

/** mmap(2); returns null on failure (then see errno()). */
export function mmap(
  addr: Deno.PointerValue,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: number,
): Deno.PointerObject | null {
  const p = libc().mmap(addr, BigInt(length), prot, flags, fd, BigInt(offset));
  return p === null || Deno.UnsafePointer.value(p) === MAP_FAILED ? null : p;
}

export function mmapFd(
  fd: number,
  length: number,
  writable: boolean,
  what: string,
): Mapping {
  const prot = PROT_READ | (writable ? PROT_WRITE : 0);
  const p = mmap(null, length, prot, MAP_SHARED, fd, 0);
  if (!p) fail("mmap", what);
  const bytes = new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(p, length),
  );
  return { ptr: p, length, bytes };
}

/** Unmaps a Mapping, or any range given as its start and length. */
export function munmap(m: { ptr: Deno.PointerValue; length: number }): void {
  libc().munmap(m.ptr, BigInt(m.length));
}

export const MS_SYNC = 4;
export function msync(m: Mapping): void {
  libc().msync(m.ptr, BigInt(m.length), MS_SYNC);
}

export function mknod(path: string, mode: number, dev: bigint): void {
  const r = libc().mknod(cstr(path), mode, dev);
  if (r < 0) fail("mknod", path);
}

export function getuid(): number {
  return libc().getuid();
}

export function getgid(): number {
  return libc().getgid();
}

/** Becomes uid:gid with no supplementary groups, for good (every thread: glibc broadcasts set*id). */
export function becomeUser(uid: number, gid: number): void {
  if (
    libc().setgroups(0n, null) !== 0 || libc().setresgid(gid, gid, gid) !== 0 || libc().setresuid(uid, uid, uid) !== 0
  ) {
    throw new Error(`cannot become ${uid}:${gid}: ${strerror(errno())}`);
  }
}

/** True when this process is root and /dev/fuse exists (what mounting needs). */
export function canMountFuse(): boolean {
  return getuid() === 0 && statPath("/dev/fuse") !== undefined;
}

export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFREG = 0o100000;

export interface StatInfo {
  dev: bigint;
  ino: bigint;
  mode: number;
  rdev: bigint;
  size: number;
}

function decodeStat(b: Uint8Array<ArrayBuffer>): StatInfo {
  const v = new DataView(b.buffer);
  return {
    dev: v.getBigUint64(0, true),
    ino: v.getBigUint64(8, true),
    mode: v.getUint32(24, true),
    rdev: v.getBigUint64(40, true),
    size: Number(v.getBigInt64(48, true)),
  };
}

/**
 * stat(2) through libc (x86_64 struct stat). Deno's own stat needs
 * --allow-all for device nodes; this needs only --allow-ffi.
 * Returns undefined when the path does not exist.
 */
export function statPath(path: string): StatInfo | undefined {
  const b = new Uint8Array(144);
  if (libc().stat(cstr(path), b) < 0) return undefined;
  return decodeStat(b);
}

export function fstat(fd: number, what: string): StatInfo {
  const b = new Uint8Array(144);
  if (libc().fstat(fd, b) < 0) fail("fstat", what);
  return decodeStat(b);
}

/** glibc major()/minor() of a dev_t. */
export function devMajor(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}

export function devMinor(dev: bigint): number {
  return Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
}

/**
 * Reads a small file through libc. Deno refuses /proc and /dev paths
 * without --allow-all; this needs only --allow-ffi.
 */
export function readFileFfi(path: string, max = 1 << 20): Uint8Array {
  const fd = open(path, O_RDONLY | O_CLOEXEC);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(65536);
    while (total < max) {
      const n = Number(libc().readSync(fd, buf, BigInt(buf.byteLength)));
      if (n < 0) fail("read", path);
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let p = 0;
    for (const c of chunks) {
      out.set(c, p);
      p += c.byteLength;
    }
    return out;
  } finally {
    close(fd);
  }
}

/** Writes a small string to a file through libc (sysfs/fusectl knobs). */
export function writeFileFfi(path: string, text: string): void {
  const fd = open(path, 1 | O_CLOEXEC);
  try {
    const r = write(fd, cstr(text).subarray(0, te.encode(text).byteLength));
    if (r.n < 0) {
      throw new LibcError("write", r.errno, `${path}: ${strerror(r.errno)}`);
    }
  } finally {
    close(fd);
  }
}
