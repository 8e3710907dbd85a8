// Which famfs protocol profile a kernel tree implements, read from the numbers its
// include/uapi/linux/fuse.h defines and from its .config. Pure: text in, verdict out.
import { type ProfileName, PROFILES } from "../src/famfs/profiles.ts";

/** The famfs protocol a kernel speaks (null: no famfs support), and how that was found. */
export interface FamfsDetection {
  profile: ProfileName | null;
  how: string;
}

export class ProfileDetectError extends Error {
  constructor(
    /** ambiguous: the numbers match a profile but the kernel cannot tell famfs from another flag. */
    readonly kind: "ambiguous" | "no-match" | "incomplete" | "not-fuse-h",
    message: string,
  ) {
    super(message);
    this.name = "ProfileDetectError";
  }
}

/** The protocol numbers one fuse.h and .config carry. */
export interface FuseNumbers {
  minor: number;
  getFmap?: number;
  getDaxdev?: number;
  daxFmapBit?: number;
  /** Other 64-bit INIT flags defined at FUSE_DAX_FMAP's bit (e.g. FUSE_HAS_IO_URING_BUFPOOL at 43). */
  flagRivals: string[];
  /** Other opcodes with GET_FMAP's or GET_DAXDEV's number (e.g. FUSE_COPY_FILE_RANGE_64 at 53). */
  opcodeRivals: string[];
  famfsDax: boolean;
  fuseIoUring: boolean;
}

function configOn(config: string, symbol: string): boolean {
  return new RegExp(`^CONFIG_${symbol}=[ym]$`, "m").test(config);
}

export function readNumbers(fuseH: string, config: string): FuseNumbers {
  const minor = fuseH.match(/^#define\s+FUSE_KERNEL_MINOR_VERSION\s+(\d+)/m);
  if (!minor) throw new ProfileDetectError("not-fuse-h", "fuse.h defines no FUSE_KERNEL_MINOR_VERSION");
  const opcodes = new Map<string, number>();
  const body = fuseH.match(/enum fuse_opcode\s*\{([\s\S]*?)\};/)?.[1] ?? "";
  for (const m of body.matchAll(/^\s*(\w+)\s*=\s*(\d+)\s*,/gm)) opcodes.set(m[1], Number(m[2]));
  const flags = new Map<string, number>();
  for (const m of fuseH.matchAll(/^#define\s+(FUSE_\w+)\s+\(1ULL\s*<<\s*(\d+)\)/gm)) flags.set(m[1], Number(m[2]));
  const getFmap = opcodes.get("FUSE_GET_FMAP");
  const getDaxdev = opcodes.get("FUSE_GET_DAXDEV");
  const daxFmapBit = flags.get("FUSE_DAX_FMAP");
  const famfsOpcodes = new Map([[getFmap, "FUSE_GET_FMAP"], [getDaxdev, "FUSE_GET_DAXDEV"]]);
  return {
    minor: Number(minor[1]),
    getFmap,
    getDaxdev,
    daxFmapBit,
    flagRivals: [...flags].filter(([n, bit]) => n !== "FUSE_DAX_FMAP" && bit === daxFmapBit).map(([n]) => n),
    opcodeRivals: [...opcodes].filter(([n, v]) =>
      famfsOpcodes.has(v) && n !== "FUSE_GET_FMAP" && n !== "FUSE_GET_DAXDEV"
    )
      .map(([n, v]) => `${n} = ${v} (as ${famfsOpcodes.get(v)})`),
    famfsDax: configOn(config, "FUSE_FAMFS_DAX"),
    fuseIoUring: configOn(config, "FUSE_IO_URING"),
  };
}

const onOff = (on: boolean) => (on ? "y" : "off");

/**
 * The profile whose numbers match the tree. `where` names the tree for the explanation, e.g.
 * "the built tree /path". Throws ProfileDetectError instead of guessing.
 */
export function detectProfile(fuseH: string, config: string, where: string): FamfsDetection {
  const n = readNumbers(fuseH, config);
  const cfg = `.config: CONFIG_FUSE_FAMFS_DAX=${onOff(n.famfsDax)} CONFIG_FUSE_IO_URING=${onOff(n.fuseIoUring)}`;
  const source = `include/uapi/linux/fuse.h of ${where}`;
  const defined = [n.getFmap, n.getDaxdev, n.daxFmapBit].filter((x) => x !== undefined).length;
  if (defined === 0) {
    return {
      profile: null,
      how: `no famfs support: ${source} defines no FUSE_GET_FMAP, FUSE_GET_DAXDEV or FUSE_DAX_FMAP ` +
        `(stock FUSE, protocol 7.${n.minor})`,
    };
  }
  const numbers = `GET_FMAP=${n.getFmap ?? "?"} GET_DAXDEV=${n.getDaxdev ?? "?"} ` +
    `FUSE_DAX_FMAP=bit ${n.daxFmapBit ?? "?"} minor ${n.minor}`;
  if (defined < 3) {
    throw new ProfileDetectError(
      "incomplete",
      `${source} defines only part of the famfs protocol (${numbers}); pass --profile NAME to choose one`,
    );
  }
  const match = Object.values(PROFILES).find((p) =>
    p.getFmapOpcode === n.getFmap && p.getDaxdevOpcode === n.getDaxdev && p.initFlagBit === n.daxFmapBit
  );
  if (!match) {
    const known = Object.values(PROFILES).map((p) =>
      `${p.name} (${p.getFmapOpcode}/${p.getDaxdevOpcode}/bit ${p.initFlagBit})`
    );
    throw new ProfileDetectError(
      "no-match",
      `${source}: ${numbers} match no known profile (${known.join(", ")}); pass --profile NAME to choose one`,
    );
  }
  // On 7.3 the kernel sets FUSE_HAS_IO_URING_BUFPOOL whenever FUSE io_uring is enabled: with both at
  // one bit, an INIT offering it cannot say whether famfs is on.
  if (n.flagRivals.includes("FUSE_HAS_IO_URING_BUFPOOL") && n.fuseIoUring) {
    throw new ProfileDetectError(
      "ambiguous",
      `${source}: FUSE_DAX_FMAP and FUSE_HAS_IO_URING_BUFPOOL are both bit ${n.daxFmapBit} and ` +
        `CONFIG_FUSE_IO_URING=y, so the kernel offers that bit for io_uring buffer pools too; ` +
        `build with CONFIG_FUSE_IO_URING off, or pass --profile ${match.name} to accept it`,
    );
  }
  const notes = [
    ...(n.minor === match.maxMinor ? [] : [`minor ${n.minor} where ${match.name} has ${match.maxMinor}`]),
    ...n.flagRivals.map((r) =>
      `bit ${n.daxFmapBit} is also ${r}` +
      (r === "FUSE_HAS_IO_URING_BUFPOOL" ? " (offered only with CONFIG_FUSE_IO_URING, which is off)" : "")
    ),
    ...n.opcodeRivals.map((r) => `opcode ${r}`),
  ];
  const detail = `detected from ${source}: ${numbers}; ${cfg}` + (notes.length ? `; note: ${notes.join("; ")}` : "");
  if (!n.famfsDax) {
    return {
      profile: null,
      how: `no famfs support: the tree carries the ${match.name} numbers but CONFIG_FUSE_FAMFS_DAX is off ` +
        `(${detail})`,
    };
  }
  return { profile: match.name, how: detail };
}
