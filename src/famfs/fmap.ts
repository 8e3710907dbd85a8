/**
 * Wire encoding of the famfs FUSE replies (little endian):
 *   fuse_famfs_fmap_header (32): file_type u8 @0, reserved u8 @1, fmap_version u16 @2,
 *     ext_type u32 @4, nextents u32 @8, reserved0 u32 @12, file_size u64 @16, reserved1 u64 @24
 *   fuse_famfs_simple_ext (24): se_devindex u32 @0, reserved u32 @4, se_offset u64 @8, se_len u64 @16
 *   fuse_famfs_iext (24): ie_nstrips u32 @0, ie_chunk_size u32 @4, ie_nbytes u64 @8, reserved u64 @16,
 *     followed by ie_nstrips simple extents
 *   fuse_daxdev_out (280): index u16 @0, reserved u16 @2, reserved2 u32 @4, reserved3 u64 @8,
 *     reserved4 u64 @16, name char[256] @24
 */
import { FmapError } from "./errors.ts";
import type { Fmap, SimpleExtent } from "./log.ts";
import { DAXDEV_NAME_MAX, FMAP_MAX_EXTENTS, FMAP_MAX_STRIPS, MAX_DAXDEVS, type Profile } from "./profiles.ts";
import { FAMFS_ALLOC_UNIT } from "./superblock.ts";

export const FMAP_HEADER_SIZE = 32;
export const SIMPLE_EXT_SIZE = 24;
export const IEXT_SIZE = 24;
export const DAXDEV_OUT_SIZE = 280;
export const FMAP_VERSION = 1;

export const FamfsFileType = { REG: 0, SUPERBLOCK: 1, LOG: 2 } as const;
export type FamfsFileType = typeof FamfsFileType[keyof typeof FamfsFileType];

function putSimple(v: DataView, off: number, x: SimpleExtent): void {
  v.setUint32(off, x.devindex, true);
  v.setUint32(off + 4, 0, true);
  v.setBigUint64(off + 8, BigInt(x.offset), true);
  v.setBigUint64(off + 16, BigInt(x.len), true);
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
  const v = new DataView(b.buffer);
  v.setUint8(0, fileType);
  v.setUint16(2, FMAP_VERSION, true);
  v.setUint32(4, f.type === "simple" ? 0 : 1, true);
  v.setUint32(8, n, true);
  v.setBigUint64(16, BigInt(fileSize), true);
  let p = FMAP_HEADER_SIZE;
  if (f.type === "simple") {
    for (const x of f.extents) {
      putSimple(v, p, x);
      p += SIMPLE_EXT_SIZE;
    }
  } else {
    for (const ie of f.iext) {
      v.setUint32(p, ie.strips.length, true);
      v.setUint32(p + 4, ie.chunkSize, true);
      v.setBigUint64(p + 8, BigInt(ie.nbytes), true);
      p += IEXT_SIZE;
      for (const x of ie.strips) {
        putSimple(v, p, x);
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
  const b = new Uint8Array(DAXDEV_OUT_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, d.index, true);
  const name = typeof d.name === "string" ? new TextEncoder().encode(d.name) : d.name;
  if (typeof d.name === "string" && name.byteLength >= DAXDEV_NAME_MAX) {
    throw new FmapError(
      `daxdev name "${d.name}" is ${name.byteLength} bytes; at most ${DAXDEV_NAME_MAX - 1}`,
    );
  }
  b.set(name.subarray(0, DAXDEV_NAME_MAX), 24);
  return b;
}
