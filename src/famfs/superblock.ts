/**
 * famfs v2 superblock (struct famfs_superblock, x86_64 layout, 200 bytes):
 *   @0 magic u64, @8 version u64, @16 log_offset u64, @24 log_len u64,
 *   @32 alloc_unit u64, @40 omf_ver_major u32, @44 omf_ver_minor u32,
 *   @48 uuid[16], @64 dev_uuid[16], @80 system_uuid[16], @96 crc u64
 *   (crc32 over bytes 0..95), @104 sb_flags u32 (real mkfs writes 0), @112 daxdev {size u64 @112,
 *   uuid[16] @120, name char[64] @136}. Real famfs refuses any version but 48.
 */
import { crc32 } from "./crc32.ts";
import { SuperblockError } from "./errors.ts";

export const FAMFS_SUPER_MAGIC = 0x87b282ffn;
export const FAMFS_CURRENT_VERSION = 48n;
export const FAMFS_OMF_VER_MAJOR = 2;
export const FAMFS_OMF_VER_MINOR = 2;
export const FAMFS_LOG_OFFSET = 0x200000;
export const FAMFS_LOG_LEN = 0x800000;
export const FAMFS_SUPERBLOCK_SIZE = 0x200000;
export const FAMFS_ALLOC_UNIT = 0x200000;
export const SUPERBLOCK_STRUCT_SIZE = 200;
export const SB_CRC_OFFSET = 96;
export const FAMFS_DEVNAME_LEN = 64;

export interface Superblock {
  magic: bigint;
  version: bigint;
  logOffset: number;
  logLen: number;
  allocUnit: number;
  omfMajor: number;
  omfMinor: number;
  uuid: Uint8Array;
  devUuid: Uint8Array;
  systemUuid: Uint8Array;
  crc: bigint;
  flags: number;
  daxdevSize: number;
  daxdevUuid: Uint8Array;
  daxdevName: string;
}

const td = new TextDecoder();
const te = new TextEncoder();

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const b = new Uint8Array(SUPERBLOCK_STRUCT_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, sb.magic, true);
  v.setBigUint64(8, sb.version, true);
  v.setBigUint64(16, BigInt(sb.logOffset), true);
  v.setBigUint64(24, BigInt(sb.logLen), true);
  v.setBigUint64(32, BigInt(sb.allocUnit), true);
  v.setUint32(40, sb.omfMajor, true);
  v.setUint32(44, sb.omfMinor, true);
  b.set(sb.uuid.subarray(0, 16), 48);
  b.set(sb.devUuid.subarray(0, 16), 64);
  b.set(sb.systemUuid.subarray(0, 16), 80);
  v.setBigUint64(
    SB_CRC_OFFSET,
    BigInt(crc32(b.subarray(0, SB_CRC_OFFSET))),
    true,
  );
  v.setUint32(104, sb.flags, true);
  v.setBigUint64(112, BigInt(sb.daxdevSize), true);
  b.set(sb.daxdevUuid.subarray(0, 16), 120);
  const name = te.encode(sb.daxdevName).subarray(0, FAMFS_DEVNAME_LEN - 1);
  b.set(name, 136);
  return b;
}

export function decodeSuperblock(b: Uint8Array): Superblock {
  const v = new DataView(b.buffer, b.byteOffset, SUPERBLOCK_STRUCT_SIZE);
  const nameBytes = b.subarray(136, 136 + FAMFS_DEVNAME_LEN);
  const nul = nameBytes.indexOf(0);
  return {
    magic: v.getBigUint64(0, true),
    version: v.getBigUint64(8, true),
    logOffset: Number(v.getBigUint64(16, true)),
    logLen: Number(v.getBigUint64(24, true)),
    allocUnit: Number(v.getBigUint64(32, true)),
    omfMajor: v.getUint32(40, true),
    omfMinor: v.getUint32(44, true),
    uuid: b.slice(48, 64),
    devUuid: b.slice(64, 80),
    systemUuid: b.slice(80, 96),
    crc: v.getBigUint64(SB_CRC_OFFSET, true),
    flags: v.getUint32(104, true),
    daxdevSize: Number(v.getBigUint64(112, true)),
    daxdevUuid: b.slice(120, 136),
    daxdevName: td.decode(nul >= 0 ? nameBytes.subarray(0, nul) : nameBytes),
  };
}

/**
 * Checks a superblock read from the first bytes of `device` whose size is
 * `deviceSize`; throws SuperblockError naming the offset of the bad field.
 */
export function checkSuperblock(
  b: Uint8Array,
  device: string,
  deviceSize: number,
): Superblock {
  if (b.byteLength < SUPERBLOCK_STRUCT_SIZE) {
    throw new SuperblockError(device, 0, `only ${b.byteLength} bytes readable`);
  }
  const sb = decodeSuperblock(b);
  if (sb.magic !== FAMFS_SUPER_MAGIC) {
    throw new SuperblockError(
      device,
      0,
      `magic 0x${sb.magic.toString(16)} is not 0x87b282ff (not a famfs device?)`,
    );
  }
  const crc = BigInt(crc32(b.subarray(0, SB_CRC_OFFSET)));
  if (crc !== sb.crc) {
    throw new SuperblockError(
      device,
      SB_CRC_OFFSET,
      `crc 0x${sb.crc.toString(16)} does not match computed 0x${crc.toString(16)}`,
    );
  }
  if (sb.version !== FAMFS_CURRENT_VERSION) {
    throw new SuperblockError(device, 8, `version ${sb.version} is not ${FAMFS_CURRENT_VERSION}`);
  }
  if (sb.omfMajor !== FAMFS_OMF_VER_MAJOR) {
    throw new SuperblockError(
      device,
      40,
      `on-media format major ${sb.omfMajor} is not ${FAMFS_OMF_VER_MAJOR}`,
    );
  }
  if (sb.allocUnit !== 4096 && sb.allocUnit !== FAMFS_ALLOC_UNIT) {
    throw new SuperblockError(
      device,
      32,
      `alloc unit ${sb.allocUnit} is neither 4096 nor 2 MiB`,
    );
  }
  if (
    sb.logOffset < FAMFS_SUPERBLOCK_SIZE ||
    sb.logOffset % FAMFS_ALLOC_UNIT !== 0
  ) {
    throw new SuperblockError(
      device,
      16,
      `log offset 0x${sb.logOffset.toString(16)} is not a 2 MiB multiple >= 2 MiB`,
    );
  }
  if (sb.logLen < FAMFS_LOG_LEN || (sb.logLen & (sb.logLen - 1)) !== 0) {
    throw new SuperblockError(
      device,
      24,
      `log length ${sb.logLen} is not a power of 2 >= 8 MiB`,
    );
  }
  if (sb.logOffset + sb.logLen > deviceSize) {
    throw new SuperblockError(
      device,
      24,
      `log end ${sb.logOffset + sb.logLen} exceeds device size ${deviceSize}`,
    );
  }
  return sb;
}

export function uuidToString(u: Uint8Array): string {
  const h = Array.from(u, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function randomUuid(): Uint8Array {
  const u = crypto.getRandomValues(new Uint8Array(16));
  u[6] = (u[6] & 0x0f) | 0x40;
  u[8] = (u[8] & 0x3f) | 0x80;
  return u;
}
