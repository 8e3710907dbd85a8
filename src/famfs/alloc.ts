/**
 * 2 MiB allocation: a bitmap rebuilt from the superblock, the log and every
 * file extent; contiguous first-fit and strided (interleaved) allocation.
 * Nothing is ever freed (famfs has no delete).
 */
import { AllocError } from "./errors.ts";
import type { Fmap, LogEntry, SimpleExtent } from "./log.ts";
import { FAMFS_ALLOC_UNIT } from "./superblock.ts";

export const roundUp = (n: number, unit = FAMFS_ALLOC_UNIT) => Math.ceil(n / unit) * unit;

export interface Overlap {
  path: string;
  offset: number;
}

export class Allocator {
  readonly units: number;
  readonly used: Uint8Array;
  /** Owner of each unit (for fsck overlap reports). */
  private owner = new Map<number, string>();
  readonly overlaps: Overlap[] = [];

  constructor(readonly deviceSize: number, logOffset: number, logLen: number) {
    this.units = Math.floor(deviceSize / FAMFS_ALLOC_UNIT);
    this.used = new Uint8Array(this.units);
    this.mark({ devindex: 0, offset: 0, len: logOffset }, ".meta/.superblock");
    this.mark({ devindex: 0, offset: logOffset, len: logLen }, ".meta/.log");
  }

  static fromEntries(
    deviceSize: number,
    logOffset: number,
    logLen: number,
    entries: LogEntry[],
  ): Allocator {
    const a = new Allocator(deviceSize, logOffset, logLen);
    for (const e of entries) if (e.kind === "file") a.markFmap(e.fmap, e.path);
    return a;
  }

  mark(x: SimpleExtent, path: string): void {
    const first = Math.floor(x.offset / FAMFS_ALLOC_UNIT);
    const last = Math.ceil((x.offset + x.len) / FAMFS_ALLOC_UNIT);
    for (let u = first; u < last && u < this.units; u++) {
      if (this.used[u]) {
        this.overlaps.push({ path, offset: u * FAMFS_ALLOC_UNIT });
      }
      this.used[u] = 1;
      if (!this.owner.has(u)) this.owner.set(u, path);
    }
  }

  markFmap(f: Fmap, path: string): void {
    if (f.type === "simple") { for (const x of f.extents) this.mark(x, path); }
    else for (const ie of f.iext) for (const x of ie.strips) this.mark(x, path);
  }

  ownerOf(offset: number): string | undefined {
    return this.owner.get(Math.floor(offset / FAMFS_ALLOC_UNIT));
  }

  freeBytes(): number {
    return this.used.reduce((a, u) => a + (u ? 0 : 1), 0) * FAMFS_ALLOC_UNIT;
  }

  /** First-fit contiguous run of `len` bytes (rounded to 2 MiB). */
  allocContiguous(len: number, path: string): SimpleExtent {
    const need = Math.max(1, roundUp(len) / FAMFS_ALLOC_UNIT);
    let run = 0;
    for (let u = 0; u < this.units; u++) {
      run = this.used[u] ? 0 : run + 1;
      if (run === need) {
        const x = {
          devindex: 0,
          offset: (u - need + 1) * FAMFS_ALLOC_UNIT,
          len: need * FAMFS_ALLOC_UNIT,
        };
        this.mark(x, path);
        return x;
      }
    }
    throw new AllocError(
      `no contiguous ${need * 2} MiB free for ${path} (${this.freeBytes()} bytes free in total)`,
    );
  }

  allocSimple(size: number, path: string): Fmap {
    return { type: "simple", extents: [this.allocContiguous(size, path)] };
  }

  /**
   * Interleaved allocation: `nstrips` strips, each a contiguous run holding
   * ceil(size / (nstrips*chunk)) chunks. Files smaller than one chunk fall
   * back to a simple extent, as famfs does.
   */
  allocInterleaved(
    size: number,
    nstrips: number,
    chunkSize: number,
    path: string,
  ): Fmap {
    if (!Number.isInteger(nstrips) || nstrips < 1 || nstrips > 16) {
      throw new AllocError(`--interleave: nstrips ${nstrips} must be 1..16`);
    }
    if (chunkSize < FAMFS_ALLOC_UNIT || (chunkSize & (chunkSize - 1)) !== 0) {
      throw new AllocError(
        `--interleave: chunk ${chunkSize} must be a power of 2 and a multiple of 2 MiB`,
      );
    }
    if (size <= chunkSize) return this.allocSimple(size, path);
    const stripes = Math.ceil(size / (nstrips * chunkSize));
    const strips = Array.from(
      { length: nstrips },
      () => this.allocContiguous(stripes * chunkSize, path),
    );
    return {
      type: "interleave",
      iext: [{ nstrips, chunkSize, nbytes: size, strips }],
    };
  }
}

/** Device ranges backing [offset, offset+len) of a file (interleave math included). */
export function resolveRange(
  f: Fmap,
  offset: number,
  len: number,
): Array<{ devOffset: number; len: number }> {
  const out: Array<{ devOffset: number; len: number }> = [];
  let pos = offset;
  const end = offset + len;
  if (f.type === "simple") {
    let base = 0;
    for (const x of f.extents) {
      while (pos < end && pos < base + x.len && pos >= base) {
        const n = Math.min(end, base + x.len) - pos;
        out.push({ devOffset: x.offset + (pos - base), len: n });
        pos += n;
      }
      base += x.len;
    }
    return out;
  }
  let base = 0;
  for (const ie of f.iext) {
    const extBytes = ie.nbytes;
    while (pos < end && pos < base + extBytes && pos >= base) {
      const rel = pos - base;
      const chunk = Math.floor(rel / ie.chunkSize);
      const within = rel % ie.chunkSize;
      const strip = ie.strips[chunk % ie.nstrips];
      const stripOff = Math.floor(chunk / ie.nstrips) * ie.chunkSize + within;
      const n = Math.min(
        end - pos,
        ie.chunkSize - within,
        base + extBytes - pos,
      );
      out.push({ devOffset: strip.offset + stripOff, len: n });
      pos += n;
    }
    base += extBytes;
  }
  return out;
}
