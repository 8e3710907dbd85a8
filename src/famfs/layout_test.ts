/**
 * An image written by our mkfs and log appends, read back field by field at the offsets of the
 * verified famfs layout table (real famfs userspace at commit 5d0919f, x86-64), with raw reads
 * that share nothing with our encoders.
 */
import { assertEquals } from "../fuse/assert.ts";
import { crc32 } from "./crc32.ts";
import { mkfs, openMeta } from "./mod.ts";

const M2 = 0x200000;
const DEV = 64 << 20;
const SYSTEM = "11223344-5566-4778-899a-abbccddeeff0";
const LOG = 0x200000;
const ENTRY0 = LOG + 48;
const ENTRY = 544;

type Want = bigint | string | Uint8Array | ((b: Uint8Array) => bigint);
/** One row of the layout table: device offset, field size in bytes, expected value. */
interface Row {
  field: string;
  at: number;
  size: number;
  want: Want;
}

const hexBytes = (s: string) => Uint8Array.from(s.replaceAll("-", "").match(/../g)!, (x) => parseInt(x, 16));
const crcOf = (from: number, to: number) => (b: Uint8Array) => BigInt(crc32(b.subarray(from, to + 1)));

function entryRows(i: number, type: bigint, arm: Array<[string, number, number, Want]>): Row[] {
  const at = ENTRY0 + i * ENTRY;
  return [
    { field: `entry ${i} seqnum`, at, size: 8, want: BigInt(i) },
    { field: `entry ${i} type`, at: at + 8, size: 4, want: type },
    ...arm.map(([field, off, size, want]) => ({ field: `entry ${i} ${field}`, at: at + off, size, want })),
    { field: `entry ${i} crc (bytes 0..535)`, at: at + 536, size: 8, want: crcOf(at, at + 535) },
  ];
}

function table(img: string): Row[] {
  return [
    { field: "ts_magic", at: 0, size: 8, want: 0x87b282ffn },
    { field: "ts_version", at: 8, size: 8, want: 48n },
    { field: "ts_log_offset", at: 16, size: 8, want: BigInt(LOG) },
    { field: "ts_log_len", at: 24, size: 8, want: 0x800000n },
    { field: "ts_alloc_unit", at: 32, size: 8, want: BigInt(M2) },
    { field: "ts_omf_ver_major", at: 40, size: 4, want: 2n },
    { field: "ts_omf_ver_minor", at: 44, size: 4, want: 2n },
    { field: "ts_system_uuid", at: 80, size: 16, want: hexBytes(SYSTEM) },
    { field: "ts_crc (bytes 0..95)", at: 96, size: 8, want: crcOf(0, 95) },
    { field: "ts_sb_flags", at: 104, size: 4, want: 0n },
    { field: "dd_size", at: 112, size: 8, want: BigInt(DEV) },
    { field: "dd_daxdev", at: 136, size: 64, want: img },
    { field: "log magic", at: LOG, size: 8, want: 0xbadcafef00dn },
    { field: "log len", at: LOG + 8, size: 8, want: 0x800000n },
    { field: "log last_index", at: LOG + 16, size: 8, want: 15419n },
    { field: "log crc (bytes 0..23)", at: LOG + 24, size: 8, want: crcOf(LOG, LOG + 23) },
    { field: "log next_seqnum", at: LOG + 32, size: 8, want: 4n },
    { field: "log next_index", at: LOG + 40, size: 8, want: 4n },
    ...entryRows(0, 1n, [
      ["md_uid", 16, 4, 1n],
      ["md_gid", 20, 4, 2n],
      ["md_mode", 24, 4, 0o750n],
      ["md_relpath", 28, 80, "d"],
    ]),
    ...entryRows(1, 0n, [
      ["fm_size", 16, 8, 3n << 20n],
      ["fm_flags", 24, 4, 2n],
      ["fm_uid", 28, 4, 3n],
      ["fm_gid", 32, 4, 4n],
      ["fm_mode", 36, 4, 0o100640n],
      ["fm_relpath", 40, 80, "d/s"],
      ["fmap_ext_type", 120, 4, 0n],
      ["fmap_nextents", 128, 4, 1n],
      ["se[0].devindex", 136, 8, 0n],
      ["se[0].offset", 144, 8, 10n * BigInt(M2)],
      ["se[0].len", 152, 8, 2n * BigInt(M2)],
    ]),
    ...entryRows(2, 0n, [
      ["fm_size", 16, 8, 9n << 20n],
      ["fm_relpath", 40, 80, "i"],
      ["fmap_ext_type", 120, 4, 1n],
      ["fmap_niext", 128, 4, 1n],
      ["ie_nstrips", 136, 8, 2n],
      ["ie_chunk_size", 144, 8, BigInt(M2)],
      ["ie_strips[0].offset", 152 + 8, 8, 20n * BigInt(M2)],
      ["ie_strips[0].len", 152 + 16, 8, 3n * BigInt(M2)],
      ["ie_strips[1].offset", 152 + 24 + 8, 8, 24n * BigInt(M2)],
      ["ie_strips[1].len", 152 + 24 + 16, 8, 3n * BigInt(M2)],
      ["ie_strips[2] (unused)", 152 + 48, 24, new Uint8Array(24)],
    ]),
    ...entryRows(3, 3n, [
      ["dd_size", 16, 8, BigInt(DEV)],
      ["dd_uuid", 24, 16, hexBytes("0102030405060708090a0b0c0d0e0f10")],
      ["dd_index", 40, 4, 1n],
    ]),
  ];
}

function readLe(b: Uint8Array): bigint {
  return b.reduceRight((v, x) => (v << 8n) | BigInt(x), 0n);
}

Deno.test("layout: an image we write matches the verified famfs layout table field by field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "famfs-layout-" });
  const img = `${dir}/dev.img`;
  try {
    await Deno.writeFile(img, new Uint8Array());
    await Deno.truncate(img, DEV);
    mkfs(img, { systemUuid: SYSTEM });
    const m = openMeta(img, { systemUuid: SYSTEM });
    try {
      m.append({ kind: "mkdir", uid: 1, gid: 2, mode: 0o750, path: "d" });
      const simple = [{ devindex: 0, offset: 10 * M2, len: 2 * M2 }];
      m.append({
        kind: "file",
        size: 3 << 20,
        flags: 2,
        uid: 3,
        gid: 4,
        mode: 0o100640,
        path: "d/s",
        fmap: { type: "simple", extents: simple },
      });
      const strips = [{ devindex: 0, offset: 20 * M2, len: 3 * M2 }, { devindex: 0, offset: 24 * M2, len: 3 * M2 }];
      m.append({
        kind: "file",
        size: 9 << 20,
        flags: 2,
        uid: 0,
        gid: 0,
        mode: 0o100644,
        path: "i",
        fmap: { type: "interleave", iext: [{ nstrips: 2, chunkSize: M2, nbytes: 9 << 20, strips }] },
      });
      m.append({ kind: "daxdev", size: DEV, uuid: hexBytes("0102030405060708090a0b0c0d0e0f10"), index: 1 });
    } finally {
      m.close();
    }
    const b = (await Deno.readFile(img)).subarray(0, LOG + (8 << 20));
    for (const r of table(img)) {
      const got = b.subarray(r.at, r.at + r.size);
      const w = r.want;
      if (typeof w === "string") {
        const want = new Uint8Array(r.size);
        want.set(new TextEncoder().encode(w));
        assertEquals(got, want, r.field);
      } else if (w instanceof Uint8Array) assertEquals(got, w, r.field);
      else assertEquals(readLe(got), typeof w === "function" ? w(b) : w, r.field);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
