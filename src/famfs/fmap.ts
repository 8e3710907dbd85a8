/**
 * Wire encoding of the famfs FUSE replies, one field table per struct
 * (docs/famfs-protocol.md, "Wire structs"). Pure.
 */
import { struct } from "../fuse/struct.ts";
import { FmapError } from "./errors.ts";
import type { Fmap, SimpleExtent } from "./log.ts";
import { DAXDEV_NAME_MAX, FMAP_MAX_EXTENTS, FMAP_MAX_STRIPS, MAX_DAXDEVS, type Profile } from "./profiles.ts";
import { FAMFS_ALLOC_UNIT } from "./superblock.ts";

export const FMAP_HEADER = struct("fuse_famfs_fmap_header", [
  { name: "file_type", type: "u8" },
  { name: "reserved", type: "u8", zero: true },
  { name: "fmap_version", type: "u16" },
  { name: "ext_type", type: "u32" },
  { name: "nextents", type: "u32" },
  { name: "reserved0", type: "u32", zero: true },
  { name: "file_size", type: "u64" },
  { name: "reserved1", type: "u64", zero: true },
]);

export const SIMPLE_EXT = struct("fuse_famfs_simple_ext", [
  { name: "devindex", type: "u32" },
  { name: "reserved", type: "u32", zero: true },
  { name: "offset", type: "u64" },
  { name: "len", type: "u64" },
]);

/** Followed by `nstrips` simple extents. */
export const IEXT = struct("fuse_famfs_iext", [
  { name: "nstrips", type: "u32" },
  { name: "chunk_size", type: "u32" },
  { name: "nbytes", type: "u64" },
  { name: "reserved", type: "u64", zero: true },
]);

export const DAXDEV_OUT = struct("fuse_daxdev_out", [
  { name: "index", type: "u16" },
  { name: "reserved", type: "u16", zero: true },
  { name: "reserved2", type: "u32", zero: true },
  { name: "reserved3", type: "u64", zero: true },
  { name: "reserved4", type: "u64", zero: true },
  { name: "name", type: `bytes[${DAXDEV_NAME_MAX}]` },
]);

/** GET_FMAP request body of rfc-v2: the size of the kernel's reply buffer. */
export const FMAP_IN = struct("fuse_famfs_fmap_in", [
  { name: "size", type: "u32" },
  { name: "pad", type: "u32", zero: true },
], { minSize: 4 });

export const FMAP_HEADER_SIZE = FMAP_HEADER.size;
export const SIMPLE_EXT_SIZE = SIMPLE_EXT.size;
export const IEXT_SIZE = IEXT.size;
export const DAXDEV_OUT_SIZE = DAXDEV_OUT.size;
export const FMAP_VERSION = 1;

export const FamfsFileType = { REG: 0, SUPERBLOCK: 1, LOG: 2 } as const;
export type FamfsFileType = typeof FamfsFileType[keyof typeof FamfsFileType];
export const FamfsExtType = { SIMPLE: 0, INTERLEAVE: 1 } as const;

function putSimple(out: Uint8Array, off: number, x: SimpleExtent): void {
  SIMPLE_EXT.encodeInto(out, off, { devindex: x.devindex, offset: BigInt(x.offset), len: BigInt(x.len) });
}

/** Checks the profile's extent rules; throws FmapError naming the extent. */
export function checkFmapForProfile(f: Fmap, p: Profile): void {
  const all: SimpleExtent[] = f.type === "simple" ? f.extents : f.iext.flatMap((ie) => ie.strips);
  const n = f.type === "simple" ? f.extents.length : f.iext.length;
  if (n > FMAP_MAX_EXTENTS) {
    throw new FmapError(`${n} extents exceed the limit of ${FMAP_MAX_EXTENTS}`);
  }
  if (f.type === "interleave") {
    for (const ie of f.iext) {
      if (ie.strips.length > FMAP_MAX_STRIPS) {
        throw new FmapError(
          `${ie.strips.length} strips exceed ${FMAP_MAX_STRIPS}`,
        );
      }
    }
  }
  all.forEach((x, i) => {
    if (x.devindex >= MAX_DAXDEVS) {
      throw new FmapError(
        `extent ${i}: devindex ${x.devindex} >= ${MAX_DAXDEVS}`,
      );
    }
    if (p.devindexMustBeZero && x.devindex !== 0) {
      throw new FmapError(
        `extent ${i}: profile ${p.name} requires devindex 0, got ${x.devindex}`,
      );
    }
    if (
      p.aligned2M &&
      (x.offset % FAMFS_ALLOC_UNIT !== 0 || x.len % FAMFS_ALLOC_UNIT !== 0)
    ) {
      throw new FmapError(
        `extent ${i}: offset ${x.offset} / len ${x.len} not 2 MiB aligned (profile ${p.name})`,
      );
    }
  });
}

/** Encodes a GET_FMAP reply payload (header + extents). Pure. */
export function encodeFmap(
  fileType: FamfsFileType,
  fileSize: number,
  f: Fmap,
): Uint8Array {
  const n = f.type === "simple" ? f.extents.length : f.iext.length;
  const bytes = FMAP_HEADER_SIZE +
    (f.type === "simple" ? n * SIMPLE_EXT_SIZE : f.iext.reduce(
      (a, ie) => a + IEXT_SIZE + ie.strips.length * SIMPLE_EXT_SIZE,
      0,
    ));
  const b = new Uint8Array(bytes);
  FMAP_HEADER.encodeInto(b, 0, {
    file_type: fileType,
    fmap_version: FMAP_VERSION,
    ext_type: f.type === "simple" ? FamfsExtType.SIMPLE : FamfsExtType.INTERLEAVE,
    nextents: n,
    file_size: BigInt(fileSize),
  });
  let p = FMAP_HEADER_SIZE;
  if (f.type === "simple") {
    for (const x of f.extents) {
      putSimple(b, p, x);
      p += SIMPLE_EXT_SIZE;
    }
  } else {
    for (const ie of f.iext) {
      IEXT.encodeInto(b, p, { nstrips: ie.strips.length, chunk_size: ie.chunkSize, nbytes: BigInt(ie.nbytes) });
      p += IEXT_SIZE;
      for (const x of ie.strips) {
        putSimple(b, p, x);
        p += SIMPLE_EXT_SIZE;
      }
    }
  }
  return b;
}

export interface DaxdevOut {
  index: number;
  /** Name bytes; a string is written NUL-terminated, raw bytes are copied as given (max 256). */
  name: string | Uint8Array;
}

/** Encodes fuse_daxdev_out (280 bytes). Pure. */
export function encodeDaxdevOut(d: DaxdevOut): Uint8Array {
  const name = typeof d.name === "string" ? new TextEncoder().encode(d.name) : d.name;
  if (typeof d.name === "string" && name.byteLength >= DAXDEV_NAME_MAX) {
    throw new FmapError(
      `daxdev name "${d.name}" is ${name.byteLength} bytes; at most ${DAXDEV_NAME_MAX - 1}`,
    );
  }
  return DAXDEV_OUT.encode({ index: d.index, name });
}

/** Largest GET_FMAP payload the kernel accepts: the size it asks for (rfc-v2) or the profile's limit. */
export function fmapReplyLimit(p: Profile, requestBody: Uint8Array): number {
  if (p.fmapRequestHasBody && requestBody.byteLength >= FMAP_IN.minSize) return FMAP_IN.decode(requestBody).size;
  return p.fmapReplyMax;
}
