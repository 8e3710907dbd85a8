// Guest side of the probe operations at a file's edges (size changes, appends, read to EOF) and of the raw device
// snapshot checks: what famfs_probe.ts delegates for the ops declared in probe_ops.ts. Runs in the guest only.
import * as libc from "../../src/fuse/libc.ts";
import type { DevRange, DevWrite } from "./probe_ops.ts";

/** A syscall failed: which call and its errno name. */
export class CallFailed extends Error {
  constructor(readonly call: string, readonly errno: string) {
    super(`${call}: ${errno}`);
    this.name = "CallFailed";
  }
}

const O_WRONLY = 1;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;

let sys: ReturnType<typeof openSys> | undefined;
function openSys() {
  return Deno.dlopen("libc.so.6", {
    truncate: { parameters: ["buffer", "i64"], result: "i32" },
    ftruncate: { parameters: ["i32", "i64"], result: "i32" },
    fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  }).symbols;
}
const calls = () => (sys ??= openSys());

function openFlags(path: string, flags: number): number {
  const fd = libc.tryOpen(path, flags);
  if (fd < 0) throw new CallFailed("open", libc.errnoName());
  return fd;
}

function check(call: string, r: number): void {
  if (r < 0) throw new CallFailed(call, libc.errnoName());
}

/** st_size of a path. */
export function statSize(path: string): number {
  const s = libc.statPath(path);
  if (!s) throw new CallFailed("stat", libc.errnoName());
  return Number(s.size);
}

/** read() from offset 0 in `chunk`-byte calls until it returns 0; the bytes and the number of read() calls. */
export function readAll(path: string, chunk: number): { bytes: Uint8Array; reads: number } {
  const fd = openFlags(path, libc.O_RDONLY);
  try {
    const parts: Uint8Array[] = [];
    let total = 0, reads = 0;
    for (;;) {
      const buf = new Uint8Array(chunk);
      const n = libc.readSync(fd, buf);
      reads++;
      if (n < 0) throw new CallFailed("read", libc.errnoName());
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let p = 0;
    for (const x of parts) {
      out.set(x, p);
      p += x.byteLength;
    }
    return { bytes: out, reads };
  } finally {
    libc.close(fd);
  }
}

/** write() of `len` bytes of `byte` through an O_APPEND descriptor; the count written. */
export function appendWrite(path: string, len: number, byte: number): number {
  const fd = openFlags(path, O_WRONLY | O_APPEND);
  try {
    const r = libc.write(fd, new Uint8Array(len).fill(byte));
    if (r.n < 0) throw new CallFailed("write", libc.errnoName(r.errno));
    return r.n;
  } finally {
    libc.close(fd);
  }
}

/** truncate(2) of the path or ftruncate(2) of a read-write descriptor. */
export function truncateTo(path: string, size: number, how: "path" | "fd"): void {
  if (how === "path") return check("truncate", calls().truncate(libc.cstr(path), BigInt(size)));
  const fd = openFlags(path, libc.O_RDWR);
  try {
    check("ftruncate", calls().ftruncate(fd, BigInt(size)));
  } finally {
    libc.close(fd);
  }
}

/** open(O_RDWR | O_TRUNC) + close. */
export function openTruncate(path: string): void {
  libc.close(openFlags(path, libc.O_RDWR | O_TRUNC));
}

/** fallocate(2) mode 0 of [off, off+len). */
export function allocate(path: string, off: number, len: number): void {
  const fd = openFlags(path, libc.O_RDWR);
  try {
    check("fallocate", calls().fallocate(fd, 0, BigInt(off), BigInt(len)));
  } finally {
    libc.close(fd);
  }
}

/** The first `len` bytes of a DAX device (device_dax mode: mapped). */
function withDevice<T>(dev: string, len: number, f: (bytes: Uint8Array) => T): T {
  const fd = openFlags(dev, libc.O_RDONLY);
  try {
    const m = libc.mmapFd(fd, len, false, dev);
    try {
      return f(m.bytes);
    } finally {
      libc.munmap(m);
    }
  } finally {
    libc.close(fd);
  }
}

/** Copies the first `len` bytes of the device into `file`. */
export function snapshot(dev: string, file: string, len: number): void {
  withDevice(dev, len, (b) => Deno.writeFileSync(file, b));
}

/**
 * First file offset where the file's bytes, read with pread(2) or through a shared mapping of the whole file,
 * differ from the snapshot at the ranges' device offsets, or -1.
 */
export function compareWithSnapshot(
  path: string,
  file: string,
  ranges: readonly DevRange[],
  via: "read" | "mmap",
): number {
  const snap = Deno.openSync(file);
  const fd = openFlags(path, libc.O_RDONLY);
  try {
    const end = Math.max(0, ...ranges.map((r) => r.fileOff + r.len));
    const map = via === "mmap" && end > 0 ? libc.mmap(null, end, libc.PROT_READ, libc.MAP_SHARED, fd, 0) : undefined;
    if (map === null) throw new CallFailed("mmap", libc.errnoName());
    try {
      for (const r of ranges) {
        let got: Uint8Array;
        if (map) got = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(map, r.len, r.fileOff)).slice();
        else {
          const buf = new Uint8Array(r.len);
          const n = libc.preadSync(fd, buf, r.fileOff);
          if (n < 0) throw new CallFailed("read", libc.errnoName());
          got = buf.subarray(0, n);
        }
        const want = new Uint8Array(r.len);
        snap.seekSync(r.devOff, Deno.SeekMode.Start);
        let n = 0;
        while (n < r.len) {
          const k = snap.readSync(want.subarray(n));
          if (k === null) break;
          n += k;
        }
        const d = firstDiff(want.subarray(0, n), got);
        if (d >= 0) return r.fileOff + d;
      }
      return -1;
    } finally {
      if (map) libc.munmap({ ptr: map, length: end });
    }
  } finally {
    libc.close(fd);
    snap.close();
  }
}

/**
 * Device now vs snapshot: the first changed offset outside `writes` (-1: none) and the first offset inside a write
 * that does not hold its byte (-1: all landed).
 */
export function diffWithSnapshot(
  dev: string,
  file: string,
  writes: readonly DevWrite[],
): { changed: number; missing: number } {
  const snap = Deno.readFileSync(file);
  return withDevice(dev, snap.byteLength, (now) => {
    const inWrite = new Uint8Array(snap.byteLength);
    let missing = -1;
    for (const w of writes) {
      const end = Math.min(w.devOff + w.len, snap.byteLength);
      inWrite.fill(1, w.devOff, end);
      for (let i = w.devOff; i < end && missing < 0; i++) if (now[i] !== w.byte) missing = i;
    }
    let changed = -1;
    for (let i = 0; i < snap.byteLength; i++) {
      if (now[i] !== snap[i] && !inWrite[i]) {
        changed = i;
        break;
      }
    }
    return { changed, missing };
  });
}

function firstDiff(want: Uint8Array, got: Uint8Array): number {
  const n = Math.min(want.byteLength, got.byteLength);
  for (let i = 0; i < n; i++) if (want[i] !== got[i]) return i;
  return want.byteLength === got.byteLength ? -1 : n;
}
