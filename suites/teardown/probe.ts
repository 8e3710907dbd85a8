// Runs in the guest: performs a list of file operations given as JSON (argv[0]) and prints one JSON line per
// operation as soon as it finishes. An access that may fault prints a "begin" line first, so a caller that sees
// the process die of SIGBUS knows which access faulted (see probe_client.ts).
// Usage: deno run --allow-ffi --allow-read probe.ts '[{"op":"open","path":"/mnt/f","flags":"r"}, ...]' [UID:GID]
// With UID:GID the probe (started as root, so it can load from any checkout) runs its operations as that user.
import { firstMismatch } from "../../src/famfs/seed.ts";
import * as libc from "../../src/fuse/libc.ts";
import type { ProbeOp } from "./probe_ops.ts";

const FLAGS = { r: 0, w: 1, rw: 2 } as const;
const fds = new Map<string, number>();
const maps = new Map<string, { ptr: Deno.PointerObject; length: number }>();
const say = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

class NoFd extends Error {}

function fdOf(op: { fd: string }): number {
  const fd = fds.get(op.fd);
  if (fd === undefined) throw new NoFd(op.fd);
  return fd;
}

async function run(op: ProbeOp): Promise<Record<string, unknown>> {
  switch (op.op) {
    case "open": {
      const fd = libc.tryOpen(op.path, FLAGS[op.flags]);
      if (fd < 0) return { error: libc.errnoName() };
      fds.set(op.id ?? op.path, fd);
      return {};
    }
    case "close":
      libc.close(fdOf(op));
      fds.delete(op.fd);
      return {};
    case "read": {
      const buf = new Uint8Array(op.len);
      const n = libc.preadSync(fdOf(op), buf, op.off);
      if (n < 0) return { error: libc.errnoName() };
      const mismatch = op.seed === undefined ? undefined : firstMismatch(op.seed, op.off, buf.subarray(0, n));
      return { n, mismatch };
    }
    case "write": {
      const buf = new Uint8Array(op.len).fill(op.byte);
      const n = libc.pwrite(fdOf(op), buf, op.off);
      return n < 0 ? { error: libc.errnoName() } : { n };
    }
    case "mmap": {
      const prot = op.prot === "rw" ? libc.PROT_READ | libc.PROT_WRITE : libc.PROT_READ;
      const p = libc.mmap(null, op.len, prot, libc.MAP_SHARED, fdOf(op), op.off ?? 0);
      if (!p) return { error: libc.errnoName() };
      maps.set(op.id, { ptr: p, length: op.len });
      return {};
    }
    case "munmap": {
      const m = maps.get(op.map);
      if (!m) throw new NoFd(op.map);
      libc.munmap(m);
      maps.delete(op.map);
      return {};
    }
    case "touch": {
      const m = maps.get(op.map);
      if (!m) throw new NoFd(op.map);
      const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(m.ptr, op.len, op.off));
      if (op.write !== undefined) {
        bytes.fill(op.write);
        return { written: op.len };
      }
      const copy = bytes.slice();
      return { mismatch: op.seed === undefined ? undefined : firstMismatch(op.seed, op.fileOff ?? op.off, copy) };
    }
    case "wait": {
      const deadline = Date.now() + op.timeoutMs;
      for (;;) {
        try {
          Deno.statSync(op.path);
          return {};
        } catch {
          if (Date.now() > deadline) return { error: "timeout" };
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  }
}

const ops = JSON.parse(Deno.args[0]) as ProbeOp[];
if (Deno.args[1]) {
  const [uid, gid] = Deno.args[1].split(":").map(Number);
  libc.becomeUser(uid, gid);
}
for (const [i, op] of ops.entries()) {
  if (op.op === "touch") say({ i, begin: true });
  try {
    say({ i, op: op.op, ...(await run(op)) });
  } catch (e) {
    // An operation on a file whose open failed: report it, keep going.
    if (!(e instanceof NoFd)) throw e;
    say({ i, op: op.op, error: "not-open" });
  }
}
