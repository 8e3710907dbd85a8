/**
 * Populating a mounted famfs from this host (the master): a directory or file is a log append
 * (through the mount's .meta/.log), then the file's content is written through the mount.
 */
import * as libc from "../fuse/libc.ts";
import { Allocator } from "./alloc.ts";
import { DeviceError, UsageError } from "./errors.ts";
import { FAMFS_FM_ALL_HOSTS_RW, type Fmap } from "./log.ts";
import { type Meta, openMeta } from "./meta.ts";
import { firstMismatch } from "./seed.ts";

/** Mount point of the famfs mount containing `path`, and the path relative to it. */
export function splitMountPath(path: string): { mnt: string; rel: string } {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const norm = abs.split("/").filter((c) => c && c !== ".").join("/");
  const info = new TextDecoder().decode(libc.readFileFfi("/proc/self/mountinfo"));
  let best = "";
  for (const l of info.split("\n")) {
    const f = l.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0 || !f[sep + 1]?.startsWith("fuse.famfs")) continue;
    const mp = f[4].replace(/^\//, "");
    if ((norm === mp || norm.startsWith(mp + "/")) && mp.length >= best.length) best = mp;
  }
  if (!best) throw new UsageError(`${path} is not inside a famfs mount (see mount | grep fuse.famfs)`);
  const rel = norm.slice(best.length + 1);
  if (!rel) throw new UsageError(`${path}: give a path inside the mount, not the mount point`);
  return { mnt: "/" + best, rel };
}

function exists(m: Meta, rel: string): boolean {
  return m.replay.entries.some((x) => x.entry.path === rel);
}

export interface CreateOptions {
  mode?: number;
  /** This host's system UUID (text); only the master may create. */
  systemUuid?: string;
}

/** Allocates and logs a file of `size` bytes at `target` (inside a mount); returns its fmap. */
export function createFile(
  target: string,
  size: number,
  interleave?: { nstrips: number; chunk: number },
  opts: CreateOptions = {},
): { mnt: string; rel: string; fmap: Fmap } {
  const { mnt, rel } = splitMountPath(target);
  const m = openMeta(mnt, { systemUuid: opts.systemUuid });
  try {
    if (exists(m, rel)) throw new UsageError(`${target} already exists (famfs files cannot be replaced)`);
    if (size <= 0) throw new UsageError(`--size ${size}: must be > 0`);
    const a = Allocator.fromEntries(m.deviceSize, m.sb.logOffset, m.sb.logLen, m.replay.entries.map((x) => x.entry));
    const fmap = interleave
      ? a.allocInterleaved(size, interleave.nstrips, interleave.chunk, rel)
      : a.allocSimple(size, rel);
    m.append({
      kind: "file",
      size,
      flags: FAMFS_FM_ALL_HOSTS_RW,
      uid: 0,
      gid: 0,
      mode: opts.mode ?? 0o644,
      path: rel,
      fmap,
    });
    return { mnt, rel, fmap };
  } finally {
    m.close();
  }
}

/** Logs a directory at `target` (inside a mount) and waits until the mount shows it. */
export async function makeDirectory(target: string, opts: CreateOptions = {}): Promise<void> {
  const { mnt, rel } = splitMountPath(target);
  const m = openMeta(mnt, { systemUuid: opts.systemUuid });
  try {
    if (exists(m, rel)) throw new UsageError(`${target} already exists`);
    m.append({ kind: "mkdir", uid: 0, gid: 0, mode: opts.mode ?? 0o755, path: rel });
  } finally {
    m.close();
  }
  await waitVisible(target);
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
  throw new DeviceError(path, "did not appear in the mount after the log append");
}

/** Writes a new file's content through the mount, 1 MiB at a time, once the mount shows it. */
export async function writeContent(
  path: string,
  size: number,
  chunkOf: (off: number, len: number) => Uint8Array,
): Promise<void> {
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

/** Reads `path` through and compares it with seededBytes(seed); returns the first bad offset, or -1, and the size. */
export async function verifySeeded(path: string, seed: number): Promise<{ mismatch: number; size: number }> {
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(1 << 20);
    let off = 0;
    for (;;) {
      const n = await f.read(buf);
      if (n === null) return { mismatch: -1, size: off };
      const bad = firstMismatch(seed, off, buf.subarray(0, n));
      if (bad >= 0) return { mismatch: bad, size: off };
      off += n;
    }
  } finally {
    f.close();
  }
}
