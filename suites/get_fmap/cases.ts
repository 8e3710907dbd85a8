// The GET_FMAP case table, pure: each case is a reply written field by field (the daemon's scenario sends it
// instead of the file's real map) and what the kernel's profile contract says of it: refused at open() with an
// errno, or accepted with a file size and a map whose bytes must be all that read(), write() and mmap reach.
import type { DeviationId, Errno, ProfileContract } from "../contract/mod.ts";
import { resolveRange } from "../../src/famfs/alloc.ts";
import type { Fmap, SimpleExtent } from "../../src/famfs/log.ts";
import type { DevRange, DevWrite, ProbeOp } from "../lib/probe_ops.ts";
import type { FmapReplySpec, SimpleExtentSpec } from "../../src/famfs/scenario.ts";

const U = 2 * 1024 * 1024;
const PAGE = 4096;
/**
 * Device memory that two mappings share makes the kernel's DAX code warn (a folio belongs to one mapping), so
 * every map that may be accepted points into an area of its own: a seeded file of `units` 2 MiB units the
 * fixture creates and never opens. Maps refused by every profile share the common area.
 */
export const COMMON = "common";
export const COMMON_UNITS = 4;

/** Where things are on the formatted device (from the fixture). */
export interface Device {
  /** Device offset of each area (a case file, or COMMON). */
  areas: Record<string, number>;
  logOffset: number;
  deviceBytes: number;
}

/** What one case's map may use: its area (`units` contiguous units at `donor`), the log, the device size. */
export interface Layout {
  donor: number;
  units: number;
  logOffset: number;
  deviceBytes: number;
}

/** errno the scenario gives GET_DAXDEV of the last valid index other than 0 (no such device). */
export const DAXDEV_ERRNO: Errno = "ENXIO";

/** open() works; st_size is `size` and every byte reachable is the map's (write: also checked for writes). */
export interface Accepted {
  kind: "accepted";
  size: number;
  fmap: Fmap;
  write: boolean;
}

export type Expectation =
  /** open() fails with `errno` and the map is not cached; a profile allowing `deviation` may accept it. */
  | { kind: "refused"; errno: Errno; deviation?: DeviationId }
  | Accepted
  /**
   * The map names device memory that another file's map (or the map itself) names. The specification leaves open
   * whether that is malformed: a kernel may refuse it at open() with `errno` (not cached), or serve it as `served`
   * says. Serving it must not make the kernel report anything (fs-dax ties a page to one file: a kernel that
   * does not take care warns), which the console watch checks.
   */
  | { kind: "aliasing"; errno: Errno; served: Accepted }
  /** The map passes; open() then asks GET_DAXDEV for `devindex` (which the scenario answers with `errno`). */
  | { kind: "daxdev"; devindex: number; errno: Errno }
  /** Accepted, but the extent runs `inside` bytes into the device and on past its end: nothing past it is read. */
  | { kind: "past-end"; inside: number };

export interface FmapCase {
  name: string;
  /** Case file, relative to the mount. */
  file: string;
  /** Test it belongs to. */
  group: "header" | "extents" | "interleave" | "hostile" | "overlap";
  /** Units of the case's own area (none: the common one). */
  units?: number;
  /** Uses the area of this other case (on purpose: overlapping files). */
  sharesWith?: string;
  reply(l: Layout, c: ProfileContract): FmapReplySpec;
  expect(l: Layout, c: ProfileContract): Expectation;
}

const donorUnit = (l: Layout, k: number): SimpleExtent => ({
  devindex: 0,
  offset: l.donor + (k % l.units) * U,
  len: U,
});
const spec = (x: SimpleExtent): SimpleExtentSpec => ({ devindex: x.devindex, offset: x.offset, len: x.len });
const units = (l: Layout, n: number) => Array.from({ length: n }, (_, k) => donorUnit(l, k));

function simple(extents: SimpleExtent[], size: number, write = true): { reply: FmapReplySpec; accept: Accepted } {
  return {
    reply: { header: { file_size: size }, extents: extents.map(spec) },
    accept: { kind: "accepted", size, fmap: { type: "simple", extents }, write },
  };
}

/** One interleaved extent of `nstrips` strips of `stripLen` on donor units, `nbytes` of file. */
function interleaved(l: Layout, nstrips: number, chunk: number, nbytes: number, stripLen = U) {
  const strips = Array.from({ length: nstrips }, (_, k) => ({ ...donorUnit(l, k), len: stripLen }));
  const fmap: Fmap = { type: "interleave", iext: [{ nstrips, chunkSize: chunk, nbytes, strips }] };
  const reply: FmapReplySpec = {
    header: { file_size: nbytes },
    iext: [{ chunk_size: chunk, nbytes, strips: strips.map(spec) }],
  };
  return { reply, fmap };
}

const refused = (c: ProfileContract, deviation?: DeviationId): Expectation => ({
  kind: "refused",
  errno: c.fmap.malformed,
  deviation,
});
const aliasing = (c: ProfileContract, served: Accepted): Expectation => ({
  kind: "aliasing",
  errno: c.fmap.malformed,
  served,
});
/** Accepted when `n` is a multiple of `align`, else refused as malformed. */
const alignedOr = (n: number, align: number, c: ProfileContract, ok: Expectation) => n % align === 0 ? ok : refused(c);

/** The valid two-unit map most header cases start from. */
const base = (l: Layout) => simple(units(l, 2), 2 * U);

function headerCase(
  file: string,
  name: string,
  header: FmapReplySpec["header"],
  expect: (l: Layout, c: ProfileContract) => Expectation,
  units?: number,
): FmapCase {
  return {
    name,
    file,
    group: "header",
    units,
    reply: (l) => ({ ...base(l).reply, header: { ...base(l).reply.header, ...header } }),
    expect,
  };
}

/** A reply of `length` payload bytes for the two-unit map (header + 2 extents = 80 bytes). */
function lengthCase(file: string, name: string, length: number): FmapCase {
  return {
    name,
    file,
    group: "header",
    reply: (l) => ({ ...base(l).reply, length }),
    // The first GET_FMAP has room for one page in every profile; a larger room (rfc-v2) is only asked for after
    // the daemon answers -ERANGE, which a written reply does not do.
    expect: (_l, c) => length > PAGE ? { kind: "refused", errno: c.fmap.oversized } : refused(c),
  };
}

export const CASES: readonly FmapCase[] = [
  headerCase("h-valid", "valid two-unit map (extents sum to exactly file_size)", {}, (l) => base(l).accept, 2),
  headerCase(
    "h-sum-short",
    "extents sum to one byte less than file_size",
    { file_size: 2 * U + 1 },
    (_l, c) => refused(c),
  ),
  headerCase("h-slack", "file_size one byte less than the extents", { file_size: 2 * U - 1 }, (l) => ({
    ...base(l).accept,
    size: 2 * U - 1,
  }), 2),
  headerCase("h-version-0", "fmap_version 0", { fmap_version: 0 }, (_l, c) => refused(c, "fmap-version-unchecked")),
  headerCase("h-version-2", "fmap_version 2", { fmap_version: 2 }, (_l, c) => refused(c, "fmap-version-unchecked")),
  headerCase("h-type-log", "file_type 2 (LOG, the largest known)", { file_type: 2 }, (l) => base(l).accept, 2),
  headerCase("h-type-3", "file_type 3", { file_type: 3 }, (_l, c) => refused(c, "file-type-unchecked")),
  headerCase("h-ext-type-2", "ext_type 2", { ext_type: 2 }, (_l, c) => refused(c)),
  headerCase(
    "h-size-max",
    "file_size above the largest file size",
    { file_size: "0x8000000000000000" },
    (_l, c) => refused(c),
  ),
  {
    name: "nextents 0 with file_size 0 (an empty file)",
    file: "h-empty",
    group: "header",
    reply: () => ({ header: { file_size: 0 }, extents: [] }),
    expect: () => ({ kind: "accepted", size: 0, fmap: { type: "simple", extents: [] }, write: false }),
  },
  {
    name: "nextents 0 with a non-zero file_size",
    file: "h-empty-sized",
    group: "header",
    reply: () => ({ header: { file_size: PAGE }, extents: [] }),
    expect: (_l, c) => refused(c),
  },
  {
    name: "nextents 3 with two extents sent",
    file: "h-nextents-more",
    group: "header",
    reply: (l) => ({ ...base(l).reply, header: { file_size: 2 * U, nextents: 3 } }),
    expect: (_l, c) => refused(c),
  },
  lengthCase("h-len-header", "reply of the header only", 32),
  lengthCase("h-len-1", "reply of 1 byte", 1),
  lengthCase("h-len-plus-1", "reply one byte longer than header + extents", 32 + 2 * 24 + 1),
  lengthCase("h-len-page", "reply of exactly the page size", 4096),
  lengthCase("h-len-page-1", "reply one byte over the page size", 4097),
  {
    name: "nextents 32 (the limit)",
    file: "e-32",
    units: 32,
    group: "extents",
    reply: (l) => simple(units(l, 32), 32 * U).reply,
    expect: (l, c) => c.fmap.maxExtents >= 32 ? simple(units(l, 32), 32 * U).accept : refused(c),
  },
  {
    name: "nextents 33",
    file: "e-33",
    // Distinct units, so that a kernel accepting 33 extents is not saved by refusing a map that aliases itself.
    units: 33,
    group: "extents",
    reply: (l) => simple(units(l, 33), 33 * U).reply,
    expect: (l, c) => c.fmap.maxExtents >= 33 ? simple(units(l, 33), 33 * U).accept : refused(c),
  },
  {
    name: "extent devindex at the limit - 1",
    file: "e-devindex-last",
    units: 1,
    group: "extents",
    reply: (l, c) => simple([{ ...donorUnit(l, 0), devindex: c.fmapDevindexLimit - 1 }], U).reply,
    expect: (l, c) =>
      c.fmapDevindexLimit === 1 ? simple([donorUnit(l, 0)], U).accept : {
        kind: "daxdev",
        devindex: c.fmapDevindexLimit - 1,
        errno: DAXDEV_ERRNO,
      },
  },
  {
    name: "extent devindex at the limit",
    file: "e-devindex-limit",
    group: "extents",
    reply: (l, c) => simple([{ ...donorUnit(l, 0), devindex: c.fmapDevindexLimit }], U).reply,
    expect: (_l, c) => refused(c),
  },
  {
    name: "extent offset 4 KiB off 2 MiB",
    file: "e-offset-4k",
    units: 2,
    group: "extents",
    reply: (l) => simple([{ ...donorUnit(l, 0), offset: l.donor + PAGE }], U).reply,
    expect: (l, c) =>
      alignedOr(PAGE, c.extentAlign, c, simple([{ ...donorUnit(l, 0), offset: l.donor + PAGE }], U).accept),
  },
  {
    name: "extent offset 512 bytes off",
    file: "e-offset-512",
    group: "extents",
    reply: (l) => simple([{ ...donorUnit(l, 0), offset: l.donor + 512 }], U).reply,
    expect: (_l, c) => refused(c),
  },
  {
    name: "extent length 4 KiB off 2 MiB",
    file: "e-len-4k",
    units: 2,
    group: "extents",
    reply: (l) => simple([{ ...donorUnit(l, 0), len: U + PAGE }], U + PAGE).reply,
    expect: (l, c) =>
      alignedOr(PAGE, c.extentAlign, c, simple([{ ...donorUnit(l, 0), len: U + PAGE }], U + PAGE).accept),
  },
  {
    name: "extent length 0",
    file: "e-len-0",
    group: "extents",
    reply: (l) => ({ header: { file_size: U }, extents: [spec(donorUnit(l, 0)), { offset: l.donor, len: 0 }] }),
    expect: (_l, c) => refused(c),
  },
  {
    name: "extent offset + length overflows 64 bits",
    file: "e-overflow",
    group: "extents",
    reply: () => ({
      header: { file_size: U },
      // 2^64 - 2 MiB: aligned, and + 4 MiB wraps to 2 MiB.
      extents: [{ offset: (2n ** 64n - BigInt(U)).toString(), len: 2 * U }],
    }),
    expect: (_l, c) => refused(c),
  },
  {
    name: "interleave nstrips 32 (the limit)",
    file: "i-strips-32",
    units: 32,
    group: "interleave",
    reply: (l) => interleaved(l, 32, U, 32 * U).reply,
    expect: (l, c) => c.fmap.maxStrips >= 32 ? acceptI(interleaved(l, 32, U, 32 * U)) : refused(c),
  },
  {
    name: "interleave nstrips 33",
    file: "i-strips-33",
    units: 33,
    group: "interleave",
    reply: (l) => interleaved(l, 33, U, 33 * U).reply,
    expect: (l, c) => c.fmap.maxStrips >= 33 ? acceptI(interleaved(l, 33, U, 33 * U)) : refused(c),
  },
  ...[U, PAGE, PAGE - 1, 0].map((chunk): FmapCase => ({
    name: `interleave chunk_size ${chunk}`,
    file: `i-chunk-${chunk}`,
    group: "interleave",
    units: chunk > 0 && chunk % PAGE === 0 ? 2 : undefined,
    reply: (l) => interleaved(l, 2, chunk, 2 * U).reply,
    expect: (l, c) =>
      chunk > 0 && chunk % c.fmap.chunkAlign === 0 ? acceptI(interleaved(l, 2, chunk, 2 * U)) : refused(c),
  })),
  {
    name: "interleave nbytes 0",
    file: "i-nbytes-0",
    group: "interleave",
    reply: (l) => ({
      ...interleaved(l, 2, U, 2 * U).reply,
      iext: [{ ...interleaved(l, 2, U, 2 * U).reply.iext![0], nbytes: 0 }],
    }),
    expect: (_l, c) => refused(c),
  },
  {
    name: "interleave: a non-last extent's nbytes not page aligned",
    file: "i-nbytes-unaligned",
    group: "interleave",
    reply: (l) => twoIext(l, U + 100, U).reply,
    expect: (_l, c) => refused(c),
  },
  {
    name: "interleave: the last extent's nbytes not page aligned",
    file: "i-nbytes-last-unaligned",
    units: 4,
    group: "interleave",
    reply: (l) => twoIext(l, U, U + 100).reply,
    expect: (l) => acceptI(twoIext(l, U, U + 100)),
  },
  {
    name: "interleave: strips shorter than nbytes needs",
    file: "i-strip-short",
    group: "interleave",
    reply: (l) => interleaved(l, 2, U, 4 * U).reply,
    expect: (_l, c) => refused(c),
  },
  {
    name: "an extent over the superblock",
    file: "x-superblock",
    group: "hostile",
    reply: () => simple([{ devindex: 0, offset: 0, len: U }], U).reply,
    // The daemon's .meta/.superblock maps this memory.
    expect: (_l, c) => aliasing(c, { ...simple([{ devindex: 0, offset: 0, len: U }], U).accept, write: false }),
  },
  {
    name: "an extent over the log",
    file: "x-log",
    group: "hostile",
    reply: (l) => simple([{ devindex: 0, offset: l.logOffset, len: U }], U).reply,
    // The daemon's .meta/.log maps this memory.
    expect: (l, c) =>
      aliasing(c, { ...simple([{ devindex: 0, offset: l.logOffset, len: U }], U).accept, write: false }),
  },
  {
    name: "an extent past the end of the device",
    file: "x-past-end",
    group: "hostile",
    reply: (l) => simple([{ devindex: 0, offset: l.deviceBytes - U, len: 2 * U }], 2 * U).reply,
    expect: () => ({ kind: "past-end", inside: U }),
  },
  {
    name: "two files whose extents overlap (first)",
    file: "x-overlap-a",
    group: "overlap",
    // The second unit of x-overlap-b's area.
    sharesWith: "x-overlap-b",
    reply: (l) => simple([donorUnit(l, 1)], U).reply,
    expect: (l) => simple([donorUnit(l, 1)], U).accept,
  },
  {
    name: "two files whose extents overlap (second)",
    file: "x-overlap-b",
    units: 2,
    group: "overlap",
    // Opened after the first, whose map is still cached.
    reply: (l) => simple([donorUnit(l, 0), donorUnit(l, 1)], 2 * U).reply,
    expect: (l, c) => aliasing(c, simple([donorUnit(l, 0), donorUnit(l, 1)], 2 * U).accept),
  },
  {
    name: "one map naming the same memory twice",
    file: "x-self-alias",
    units: 1,
    group: "overlap",
    reply: (l) => simple([donorUnit(l, 0), donorUnit(l, 0)], 2 * U).reply,
    expect: (l, c) => aliasing(c, simple([donorUnit(l, 0), donorUnit(l, 0)], 2 * U).accept),
  },
];

/** The areas the fixture creates: each case's own and the common one, with their sizes in units. */
export function areas(): Array<{ name: string; units: number }> {
  return [
    ...CASES.filter((c) => c.units).map((c) => ({ name: c.file, units: c.units! })),
    { name: COMMON, units: COMMON_UNITS },
  ];
}

/** What case `c` may use on the device `d`. */
export function layoutOf(c: FmapCase, d: Device): Layout {
  const owner = c.sharesWith ?? (c.units ? c.file : COMMON);
  const units = owner === COMMON ? COMMON_UNITS : CASES.find((x) => x.file === owner)!.units!;
  return { donor: d.areas[owner], units, logOffset: d.logOffset, deviceBytes: d.deviceBytes };
}

function acceptI(x: { fmap: Fmap; reply: FmapReplySpec }): Accepted {
  return { kind: "accepted", size: Number(x.reply.header!.file_size), fmap: x.fmap, write: true };
}

/** Two interleaved extents (2 strips of 2 MiB chunks each, on donor units 0-1 and 2-3). */
function twoIext(l: Layout, nbytes0: number, nbytes1: number) {
  const strips = (k: number) => [donorUnit(l, k), donorUnit(l, k + 1)];
  const fmap: Fmap = {
    type: "interleave",
    iext: [
      { nstrips: 2, chunkSize: U, nbytes: nbytes0, strips: strips(0) },
      { nstrips: 2, chunkSize: U, nbytes: nbytes1, strips: strips(2) },
    ],
  };
  const reply: FmapReplySpec = {
    header: { file_size: nbytes0 + nbytes1 },
    iext: fmap.type === "interleave"
      ? fmap.iext.map((ie) => ({ chunk_size: ie.chunkSize, nbytes: ie.nbytes, strips: ie.strips.map(spec) }))
      : [],
  };
  return { reply, fmap };
}

/** The first and last page of every device range the map gives the file. */
export function samples(fmap: Fmap, size: number): DevRange[] {
  const out: DevRange[] = [];
  let fileOff = 0;
  for (const r of resolveRange(fmap, 0, size)) {
    const n = Math.min(PAGE, r.len);
    out.push({ fileOff, devOff: r.devOffset, len: n });
    if (r.len > n) out.push({ fileOff: fileOff + r.len - n, devOff: r.devOffset + r.len - n, len: n });
    fileOff += r.len;
  }
  return out;
}

/** Bytes each write of the write check puts through write() and through a mapping. */
const WLEN = 64;
const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;

/** Writes of the accepted maps: through write() at file offset k*256 and through a mapping near the first 2 MiB. */
export function writePlan(
  d: Device,
  contract: ProfileContract,
  mnt: string,
): Array<{ c: FmapCase; ops: ProbeOp[]; dev: DevWrite[] }> {
  const accepted = CASES.flatMap((c) => {
    // Hostile and overlapping maps are checked after the writes: they keep the snapshot's bytes.
    const e = c.expect(layoutOf(c, d), contract);
    return e.kind === "accepted" && e.write && c.group !== "hostile" && c.group !== "overlap" ? [{ c, e }] : [];
  });
  return accepted.map(({ c, e }, k) => {
    const byte = 0x40 + k;
    const wOff = k * 256;
    const mOff = Math.min(U, pageUp(e.size)) - PAGE + k * 256;
    const mapOff = Math.floor(mOff / PAGE) * PAGE;
    const dev = [wOff, mOff].flatMap((off) =>
      resolveRange(e.fmap, off, WLEN).map((r) => ({ devOff: r.devOffset, len: r.len, byte }))
    );
    const ops: ProbeOp[] = [
      { op: "write", path: `${mnt}/${c.file}`, off: wOff, len: WLEN, byte },
      { op: "mmap", path: `${mnt}/${c.file}`, prot: "rw", mapOff, mapLen: PAGE * 2, off: mOff, len: WLEN, byte },
    ];
    return { c, ops, dev };
  });
}
