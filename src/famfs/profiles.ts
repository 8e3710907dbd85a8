/** The three famfs protocol profiles (see docs/famfs-protocol.md). Pure data. */

export type ProfileName = "rfc-v2" | "v3" | "ref";

export interface Profile {
  name: ProfileName;
  getFmapOpcode: number;
  getDaxdevOpcode: number;
  /** FUSE_DAX_FMAP as a 64-bit INIT flag (flags | flags2 << 32). */
  initFlag: bigint;
  initFlagBit: number;
  /** GET_FMAP carries {u32 size; u32 pad}. */
  fmapRequestHasBody: boolean;
  /** Largest fmap reply payload. */
  fmapReplyMax: number;
  /** Every extent must use devindex 0. */
  devindexMustBeZero: boolean;
  /** Extent offsets and lengths must be 2 MiB aligned. */
  aligned2M: boolean;
  /** Minor version the daemon announces at most. */
  maxMinor: number;
}

export const PROFILES: Record<ProfileName, Profile> = {
  "rfc-v2": {
    name: "rfc-v2",
    getFmapOpcode: 53,
    getDaxdevOpcode: 54,
    initFlag: 1n << 42n,
    initFlagBit: 42,
    fmapRequestHasBody: true,
    fmapReplyMax: 32768,
    devindexMustBeZero: false,
    // RFC V2's alignment rule is not in the protocol facts: the 2 MiB rule of the later lines.
    aligned2M: true,
    maxMinor: 46,
  },
  v3: {
    name: "v3",
    getFmapOpcode: 54,
    getDaxdevOpcode: 55,
    initFlag: 1n << 43n,
    initFlagBit: 43,
    fmapRequestHasBody: false,
    fmapReplyMax: 4096,
    devindexMustBeZero: true,
    aligned2M: true,
    maxMinor: 46,
  },
  ref: {
    name: "ref",
    getFmapOpcode: 54,
    getDaxdevOpcode: 55,
    initFlag: 1n << 44n,
    initFlagBit: 44,
    fmapRequestHasBody: false,
    fmapReplyMax: 4096,
    devindexMustBeZero: false,
    aligned2M: true,
    maxMinor: 47,
  },
};

export function profileByName(name: string): Profile | undefined {
  return (PROFILES as Record<string, Profile>)[name];
}

export const MAX_DAXDEVS = 24;
export const DAXDEV_NAME_MAX = 256;
export const FMAP_MAX_EXTENTS = 32;
export const FMAP_MAX_STRIPS = 32;
