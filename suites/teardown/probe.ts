// Runs in the guest: performs a list of file operations given as JSON (argv[0]) and prints one JSON line per
// operation as soon as it finishes. An access that may fault prints a "begin" line first, so a caller that sees
// the process die of SIGBUS knows which access faulted (see probe_client.ts).
// Usage: deno run --allow-ffi --allow-read probe.ts '[{"op":"open","path":"/mnt/f","flags":"r"}, ...]'
import { firstMismatch } from "../../src/famfs/seed.ts";
import type { ProbeOp } from "./probe_ops.ts";

const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
});

const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  6: "ENXIO",
  13: "EACCES",
  16: "EBUSY",
  19: "ENODEV",
  22: "EINVAL",
  27: "EFBIG",
  95: "EOPNOTSUPP",
  107: "ENOTCONN",
};

function errname(): string {
  const e = new Deno.UnsafePointerView(libc.symbols.__errno_location()!).getInt32();
  return ERRNO[e] ?? `errno ${e}`;
}

const FLAGS = { r: 0, w: 1, rw: 2 } as const;
const fds = new Map<string, number>();
const maps = new Map<string, { ptr: Deno.PointerObject; len: number }>();
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
      const fd = libc.symbols.open(new TextEncoder().encode(op.path + "\0"), FLAGS[op.flags], 0);
      if (fd < 0) return { error: errname() };
      fds.set(op.id ?? op.path, fd);
      return {};
    }
    case "close":
      libc.symbols.close(fdOf(op));
      fds.delete(op.fd);
      return {};
    case "read": {
      const buf = new Uint8Array(op.len);
      const n = Number(libc.symbols.pread(fdOf(op), buf, BigInt(op.len), BigInt(op.off)));
      if (n < 0) return { error: errname() };
      const mismatch = op.seed === undefined ? undefined : firstMismatch(op.seed, op.off, buf.subarray(0, n));
      return { n, mismatch };
    }
    case "write": {
      const buf = new Uint8Array(op.len).fill(op.byte);
      const n = Number(libc.symbols.pwrite(fdOf(op), buf, BigInt(op.len), BigInt(op.off)));
      return n < 0 ? { error: errname() } : { n };
    }
    case "mmap": {
      const prot = op.prot === "rw" ? 3 : 1;
      const p = libc.symbols.mmap(null, BigInt(op.len), prot, 1, fdOf(op), BigInt(op.off ?? 0));
      if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) return { error: errname() };
      maps.set(op.id, { ptr: p, len: op.len });
      return {};
    }
    case "munmap": {
      const m = maps.get(op.map);
      if (!m) throw new NoFd(op.map);
      libc.symbols.munmap(m.ptr, BigInt(m.len));
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
