// Runs in the guest: performs the operations given as JSON on stdin (see probe_ops.ts) and prints one JSON line per
// operation as soon as it finishes. A mapping access prints a "begin" line first, so the host, seeing the process
// die of SIGBUS, knows which access faulted and can restart at the next operation.
// Usage: deno run -A famfs_probe.ts [FIRST_OP_INDEX] [--as UID:GID] < ops.json   (-A: /dev and /proc paths)
// With --as the probe (started as root, so it can load from any checkout) runs its operations as that user.
import { resolveRange } from "../../src/famfs/alloc.ts";
import { createFile, openMeta } from "../../src/famfs/mod.ts";
import { seededBytes } from "../../src/famfs/seed.ts";
import * as libc from "../../src/fuse/libc.ts";
import * as edges from "./probe_edges.ts";
import type { Expected, ProbeOp, ProbeResult, Target } from "./probe_ops.ts";

/** Expected bytes [off, off+len) of a file. */
export function expectedBytes(e: Expected, off: number, len: number): Uint8Array {
  const b = seededBytes(e.seed, off, len);
  for (const p of e.patches ?? []) {
    const from = Math.max(off, p.off), to = Math.min(off + len, p.off + p.len);
    if (from < to) b.fill(p.byte, from - off, to - off);
  }
  return b;
}

function firstDiff(want: Uint8Array, got: Uint8Array, base: number): number {
  if (want.byteLength !== got.byteLength) return base + Math.min(want.byteLength, got.byteLength);
  for (let i = 0; i < want.byteLength; i++) if (want[i] !== got[i]) return base + i;
  return -1;
}

class Failed extends Error {
  constructor(readonly call: string, readonly errno: string) {
    super(`${call}: ${errno}`);
    this.name = "Failed";
  }
}

const FLAGS = { r: libc.O_RDONLY, w: 1, rw: libc.O_RDWR } as const;
/** Descriptors and mappings kept by handle operations. */
const fds = new Map<string, number>();
const maps = new Map<string, { ptr: Deno.PointerObject; length: number }>();

function fdOf(name: string): number {
  const fd = fds.get(name);
  if (fd === undefined) throw new Failed(name, "not-open");
  return fd;
}

function openFd(path: string, flags: number): number {
  const fd = libc.tryOpen(path, flags);
  if (fd < 0) throw new Failed("open", libc.errnoName());
  return fd;
}

function pread(fd: number, off: number, len: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(len);
  const n = libc.preadSync(fd, buf, off);
  if (n < 0) throw new Failed("read", libc.errnoName());
  return buf.subarray(0, n);
}

function map(fd: number, off: number, len: number, prot: number): Deno.PointerObject {
  const p = libc.mmap(null, len, prot, libc.MAP_SHARED, fd, off);
  if (!p) throw new Failed("mmap", libc.errnoName());
  return p;
}

function withFd<T>(path: string, rw: boolean, f: (fd: number) => T): T {
  const fd = openFd(path, rw ? libc.O_RDWR : libc.O_RDONLY);
  try {
    return f(fd);
  } finally {
    libc.close(fd);
  }
}

/** Runs `f` on the target's descriptor: a kept one, or `path` opened (read-write when `rw`) for the call. */
function onTarget<T>(t: Target, rw: boolean, f: (fd: number) => T): T {
  return "fd" in t ? f(fdOf(t.fd)) : withFd(t.path, rw, f);
}

function writeBack(fd: number, data: Uint8Array<ArrayBuffer>, off: number): { n: number; mismatch: number } {
  const n = libc.pwrite(fd, data, off);
  if (n < 0) throw new Failed("write", libc.errnoName());
  const back = pread(fd, off, n);
  return { n, mismatch: firstDiff(data.subarray(0, n), back, off) };
}

async function run(i: number, op: ProbeOp): Promise<Omit<ProbeResult, "i" | "op">> {
  switch (op.op) {
    case "open": {
      const fd = openFd(op.path, FLAGS[op.flags ?? "r"]);
      if (op.id === undefined) libc.close(fd);
      else fds.set(op.id, fd);
      return {};
    }
    case "close":
      libc.close(fdOf(op.fd));
      fds.delete(op.fd);
      return {};
    case "read":
      return onTarget(op, false, (fd) => {
        const got = pread(fd, op.off, op.len);
        // Only the bytes read are compared: callers check `n` (reads stop at EOF).
        const mismatch = op.expect
          ? firstDiff(expectedBytes(op.expect, op.off, got.byteLength), got, op.off)
          : undefined;
        return { n: got.byteLength, mismatch };
      });
    case "write": {
      const data = new Uint8Array(op.len).fill(op.byte);
      if ("path" in op) return withFd(op.path, true, (fd) => writeBack(fd, data, op.off));
      // A kept descriptor may be write-only: no read back.
      const n = libc.pwrite(fdOf(op.fd), data, op.off);
      if (n < 0) throw new Failed("write", libc.errnoName());
      return { n };
    }
    case "restore":
      return withFd(
        op.path,
        true,
        (fd) => writeBack(fd, seededBytes(op.seed, op.off, op.len) as Uint8Array<ArrayBuffer>, op.off),
      );
    case "mmap":
      return withFd(op.path, op.prot === "rw", (fd) => {
        const prot = op.prot === "rw" ? libc.PROT_READ | libc.PROT_WRITE : libc.PROT_READ;
        const p = map(fd, op.mapOff, op.mapLen, prot);
        const second = op.byte !== undefined ? map(fd, op.mapOff, op.mapLen, libc.PROT_READ) : undefined;
        try {
          const rel = op.off - op.mapOff;
          // The access that may fault: tell the host first.
          console.log(JSON.stringify({ i, op: op.op, begin: true }));
          const view = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, op.len, rel));
          if (op.byte !== undefined) {
            view.fill(op.byte);
            const back = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(second!, op.len, rel)).slice();
            return { n: op.len, mismatch: firstDiff(new Uint8Array(op.len).fill(op.byte), back, op.off) };
          }
          const got = view.slice();
          const mismatch = op.expect ? firstDiff(expectedBytes(op.expect, op.off, op.len), got, op.off) : undefined;
          return { n: op.len, mismatch };
        } finally {
          libc.munmap({ ptr: p, length: op.mapLen });
          if (second) libc.munmap({ ptr: second, length: op.mapLen });
        }
      });
    case "map": {
      const prot = op.prot === "rw" ? libc.PROT_READ | libc.PROT_WRITE : libc.PROT_READ;
      maps.set(op.id, { ptr: map(fdOf(op.fd), op.off ?? 0, op.len, prot), length: op.len });
      return {};
    }
    case "munmap": {
      const m = maps.get(op.map);
      if (!m) throw new Failed(op.map, "not-open");
      libc.munmap(m);
      maps.delete(op.map);
      return {};
    }
    case "touch": {
      const m = maps.get(op.map);
      if (!m) throw new Failed(op.map, "not-open");
      console.log(JSON.stringify({ i, op: op.op, begin: true }));
      const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(m.ptr, op.len, op.off));
      if (op.write !== undefined) {
        bytes.fill(op.write);
        return { n: op.len };
      }
      const got = bytes.slice();
      const at = op.fileOff ?? op.off;
      return { n: op.len, mismatch: op.expect ? firstDiff(expectedBytes(op.expect, at, op.len), got, at) : undefined };
    }
    case "wait": {
      const deadline = Date.now() + op.timeoutMs;
      for (;;) {
        try {
          Deno.statSync(op.path);
          return {};
        } catch {
          if (Date.now() > deadline) throw new Failed("wait", "timeout");
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    case "raw": {
      const m = openMeta(op.dev);
      try {
        const files: Record<string, number> = {};
        for (const f of op.files) {
          const e = m.replay.entries.map((x) => x.entry).find((x) => x.kind === "file" && x.path === f.rel);
          if (!e || e.kind !== "file") throw new Failed("raw", `no file ${f.rel} in the log of ${op.dev}`);
          // The device is mapped by openMeta: m.log is a view into it, so its buffer is the whole device.
          const dev = new Uint8Array(m.log.buffer, m.log.byteOffset - m.sb.logOffset, m.deviceSize);
          let pos = 0, mismatch = -1;
          for (const r of resolveRange(e.fmap, 0, e.size)) {
            const d = firstDiff(
              expectedBytes(f.expect, pos, r.len),
              dev.subarray(r.devOffset, r.devOffset + r.len),
              pos,
            );
            if (d >= 0) {
              mismatch = d;
              break;
            }
            pos += r.len;
          }
          // A map that does not cover the whole file counts as a mismatch where it ends.
          files[f.rel] = mismatch < 0 && pos !== e.size ? pos : mismatch;
        }
        return { files };
      } finally {
        m.close();
      }
    }
    case "create": {
      const files: Record<string, string> = {};
      for (const f of op.files) {
        const path = `${op.mnt}/${f.rel}`;
        const r = createFile(path, f.size, f.interleave);
        await writeSeeded(path, f.size, f.seed);
        files[f.rel] = JSON.stringify(r.fmap);
      }
      return { files };
    }
    case "stat":
      return { n: edges.statSize(op.path) };
    case "readall": {
      const r = edges.readAll(op.path, op.chunk);
      const mismatch = op.expect ? firstDiff(expectedBytes(op.expect, 0, r.bytes.byteLength), r.bytes, 0) : undefined;
      return { n: r.bytes.byteLength, reads: r.reads, mismatch };
    }
    case "append":
      return { n: edges.appendWrite(op.path, op.len, op.byte) };
    case "truncate":
      edges.truncateTo(op.path, op.size, op.how);
      return {};
    case "opentrunc":
      edges.openTruncate(op.path);
      return {};
    case "fallocate":
      edges.allocate(op.path, op.off, op.len);
      return {};
    case "snapshot":
      edges.snapshot(op.dev, op.file, op.len);
      return {};
    case "mapcheck":
      // Mapping accesses may fault: tell the host first.
      if (op.via === "mmap") console.log(JSON.stringify({ i, begin: true }));
      return { mismatch: edges.compareWithSnapshot(op.path, op.snapshot, op.ranges, op.via) };
    case "rawdiff": {
      const d = edges.diffWithSnapshot(op.dev, op.snapshot, op.writes);
      return { changed: d.changed, mismatch: d.missing };
    }
  }
}

/** Writes seeded content once the daemon shows the new file (it replays the log on lookup). */
async function writeSeeded(path: string, size: number, seed: number): Promise<void> {
  for (let t = 0;; t++) {
    try {
      Deno.statSync(path);
      break;
    } catch (e) {
      if (t > 400) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const f = Deno.openSync(path, { write: true });
  try {
    const CH = 1 << 20;
    for (let off = 0; off < size; off += CH) {
      const b = seededBytes(seed, off, Math.min(CH, size - off));
      let w = 0;
      while (w < b.byteLength) w += f.writeSync(b.subarray(w));
    }
    f.syncSync();
  } finally {
    f.close();
  }
}

if (import.meta.main) {
  const ops = JSON.parse(new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer())) as ProbeOp[];
  const first = Number(Deno.args[0] ?? "0");
  const as = Deno.args.indexOf("--as");
  if (as >= 0) {
    const [uid, gid] = Deno.args[as + 1].split(":").map(Number);
    libc.becomeUser(uid, gid);
  }
  for (let i = first; i < ops.length; i++) {
    const op = ops[i];
    let res: Omit<ProbeResult, "i" | "op">;
    try {
      res = await run(i, op);
    } catch (e) {
      if (!(e instanceof Failed) && !(e instanceof edges.CallFailed)) throw e;
      res = { error: e.errno, call: e.call };
    }
    console.log(JSON.stringify({ i, op: op.op, ...res }));
  }
}
