// Each famfs protocol profile's contract: what a conforming kernel of that profile must show, and
// which of its posted behaviours our specification calls a defect (allowed deviations). Suites
// consult these tables; no suite branches on a profile name. Facts: docs/famfs-protocol.md.

export type ProfileName = "rfc-v2" | "v3" | "ref";

/** The specification every verdict is judged against. */
export const SPECIFICATION = "famfs-lab conformance spec 1 (the ref series' behaviour contract)";

/** Ids of behaviours of posted series that the specification calls defects. */
export type DeviationId =
  | "daxdev-errors-at-io"
  | "fmap-version-unchecked"
  | "file-type-unchecked";

export const DEVIATIONS: Readonly<Record<DeviationId, string>> = {
  "daxdev-errors-at-io": "GET_DAXDEV errors surface at I/O (EIO, SIGBUS), not at open",
  "fmap-version-unchecked": "GET_FMAP fmap_version is not checked",
  "file-type-unchecked": "GET_FMAP file_type is not checked",
};

/** errno names a contract can expect from a syscall. */
export type Errno = "EINVAL" | "EIO" | "ENXIO" | "EFBIG" | "EPERM" | "EOPNOTSUPP";

/**
 * How a kernel judges a GET_FMAP reply ("open() of a regular file", vm-images/series/ref/README.md;
 * docs/famfs-protocol.md for the posted series). A refused map fails open() and is not cached.
 */
export interface FmapRules {
  /** At most this many extents (simple or interleaved). */
  maxExtents: number;
  /** At most this many strips per interleaved extent. */
  maxStrips: number;
  /** ie_chunk_size must be a non-zero multiple of this. */
  chunkAlign: number;
  /** The last interleaved extent's ie_nbytes may be any size; the others a multiple of this. */
  nbytesAlign: number;
  /** Largest file_size (MAX_LFS_FILESIZE on x86_64). */
  maxFileSize: bigint;
  /** errno of open() for a malformed map. */
  malformed: Errno;
  /** errno of open() for a reply longer than the request has room for (the daemon's write() fails). */
  oversized: Errno;
}

/** errnos at a famfs file's edges ("I/O on a famfs file"); files never grow or shrink. */
export interface IoEdgeRules {
  /** write() starting at or after EOF, O_APPEND included. */
  writeAtEof: Errno;
  /** truncate()/ftruncate() to another size. */
  truncate: Errno;
  /** open(O_TRUNC) of a non-empty file. */
  openTrunc: Errno;
  fallocate: Errno;
}

export interface ProfileContract {
  profile: ProfileName;
  /** An fmap extent (or strip) may name device indexes 0 <= i < this. */
  fmapDevindexLimit: number;
  /** Slots of the per-connection daxdev table. */
  daxdevSlots: number;
  /** Largest GET_FMAP reply payload the kernel takes (beyond one page only when asked again after -ERANGE). */
  fmapReplyMax: number;
  /** Extent offsets and lengths must be multiples of this. */
  extentAlign: number;
  /** Reply of the kernel to a GET_DAXDEV answer for a slot a racing open already filled. */
  racedSlot: "EALREADY" | "ok";
  /** The kernel offers famfs in INIT only to a server with CAP_SYS_RAWIO. */
  serverNeedsRawio: boolean;
  /** GET_FMAP validation beyond devindex, alignment and reply size. */
  fmap: FmapRules;
  io: IoEdgeRules;
  /** Posted behaviours of this profile that the specification calls defects. */
  deviations: readonly DeviationId[];
}

const MIB2 = 2 * 1024 * 1024;
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

/** ref (series/ref/README.md): chunk sizes in pages, only non-last ie_nbytes page aligned. */
const REF_FMAP: FmapRules = {
  maxExtents: 32,
  maxStrips: 32,
  chunkAlign: 4096,
  nbytesAlign: 4096,
  maxFileSize: MAX_LFS_FILESIZE,
  malformed: "EINVAL",
  oversized: "EIO",
};

/**
 * The famfs I/O rules of ref. The posted series' I/O edges are not in our docs: the same rules
 * are assumed for them (famfs files never change size), so a run shows any difference.
 */
const REF_IO: IoEdgeRules = { writeAtEof: "EFBIG", truncate: "EPERM", openTrunc: "EPERM", fallocate: "EOPNOTSUPP" };

export const CONTRACTS: Readonly<Record<ProfileName, ProfileContract>> = {
  ref: {
    profile: "ref",
    fmapDevindexLimit: 24,
    daxdevSlots: 24,
    fmapReplyMax: 4096,
    extentAlign: MIB2,
    racedSlot: "ok",
    serverNeedsRawio: false,
    fmap: REF_FMAP,
    io: REF_IO,
    deviations: [],
  },
  v3: {
    profile: "v3",
    fmapDevindexLimit: 1,
    daxdevSlots: 24,
    fmapReplyMax: 4096,
    extentAlign: MIB2,
    racedSlot: "ok",
    serverNeedsRawio: true,
    // V3..V10: "offsets, lengths and chunk sizes 2 MiB aligned" (docs/famfs-protocol.md).
    fmap: { ...REF_FMAP, chunkAlign: MIB2 },
    io: REF_IO,
    deviations: ["daxdev-errors-at-io", "fmap-version-unchecked", "file-type-unchecked"],
  },
  "rfc-v2": {
    profile: "rfc-v2",
    fmapDevindexLimit: 24,
    daxdevSlots: 24,
    fmapReplyMax: 32768,
    // RFC V2's map rules beyond devindex and reply size (alignment included) are not in our docs: ref's.
    extentAlign: MIB2,
    racedSlot: "EALREADY",
    serverNeedsRawio: false,
    fmap: REF_FMAP,
    io: REF_IO,
    deviations: ["daxdev-errors-at-io"],
  },
};

export function contractFor(profile: ProfileName): ProfileContract {
  return CONTRACTS[profile];
}

export function allows(contract: ProfileContract, deviation: DeviationId): boolean {
  return contract.deviations.includes(deviation);
}
