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

export interface ProfileContract {
  profile: ProfileName;
  /** An fmap extent (or strip) may name device indexes 0 <= i < this. */
  fmapDevindexLimit: number;
  /** Slots of the per-connection daxdev table. */
  daxdevSlots: number;
  /** Largest GET_FMAP reply payload the kernel takes. */
  fmapReplyMax: number;
  /** Extent offsets and lengths must be multiples of this. */
  extentAlign: number;
  /** Reply of the kernel to a GET_DAXDEV answer for a slot a racing open already filled. */
  racedSlot: "EALREADY" | "ok";
  /** The kernel offers famfs in INIT only to a server with CAP_SYS_RAWIO. */
  serverNeedsRawio: boolean;
  /** Posted behaviours of this profile that the specification calls defects. */
  deviations: readonly DeviationId[];
}

const MIB2 = 2 * 1024 * 1024;

export const CONTRACTS: Readonly<Record<ProfileName, ProfileContract>> = {
  ref: {
    profile: "ref",
    fmapDevindexLimit: 24,
    daxdevSlots: 24,
    fmapReplyMax: 4096,
    extentAlign: MIB2,
    racedSlot: "ok",
    serverNeedsRawio: false,
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
    deviations: ["daxdev-errors-at-io", "fmap-version-unchecked", "file-type-unchecked"],
  },
  "rfc-v2": {
    profile: "rfc-v2",
    fmapDevindexLimit: 24,
    daxdevSlots: 24,
    fmapReplyMax: 32768,
    extentAlign: 4096,
    racedSlot: "EALREADY",
    serverNeedsRawio: false,
    deviations: ["daxdev-errors-at-io"],
  },
};

export function contractFor(profile: ProfileName): ProfileContract {
  return CONTRACTS[profile];
}

export function allows(contract: ProfileContract, deviation: DeviationId): boolean {
  return contract.deviations.includes(deviation);
}
