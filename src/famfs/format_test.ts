/** famfs on-media format: layouts, CRCs, replay, corruption reports, allocation math, seeded content. */
import { assert, assertEquals, assertThrows } from "../fuse/assert.ts";
import { Allocator, resolveRange } from "./alloc.ts";
import { crc32 } from "./crc32.ts";
import { LogError, SuperblockError } from "./errors.ts";
import {
  appendLogEntry,
  decodeLogEntry,
  encodeLogEntry,
  encodeLogHeader,
  lastIndexFor,
  LOG_ENTRY_SIZE,
  LOG_HEADER_SIZE,
  replayLog,
} from "./log.ts";
import { firstMismatch, seededBytes } from "./seed.ts";
import {
  checkSuperblock,
  encodeSuperblock,
  FAMFS_SUPER_MAGIC,
  type Superblock,
  SUPERBLOCK_STRUCT_SIZE,
} from "./superblock.ts";

const M2 = 0x200000;
const DEV = 256 * 1024 * 1024;

Deno.test("crc32 matches zlib's check value", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(
    crc32(
      new TextEncoder().encode("6789"),
      crc32(new TextEncoder().encode("12345")),
    ),
    0xcbf43926,
  );
});

function sb(): Superblock {
  return {
    magic: FAMFS_SUPER_MAGIC,
    version: 48n,
    logOffset: M2,
    logLen: 8 * 1024 * 1024,
    allocUnit: M2,
    omfMajor: 2,
    omfMinor: 2,
    uuid: new Uint8Array(16).fill(1),
    devUuid: new Uint8Array(16).fill(2),
    systemUuid: new Uint8Array(16).fill(3),
    crc: 0n,
    flags: 0,
    daxdevSize: DEV,
    daxdevUuid: new Uint8Array(16).fill(4),
    daxdevName: "/dev/dax0.0",
  };
}

Deno.test("superblock: field offsets and CRC over bytes 0..95", () => {
  const b = encodeSuperblock(sb());
  assertEquals(b.byteLength, SUPERBLOCK_STRUCT_SIZE);
  const v = new DataView(b.buffer);
  assertEquals(v.getBigUint64(0, true), 0x87b282ffn);
  assertEquals(v.getBigUint64(16, true), BigInt(M2));
  assertEquals(v.getUint32(40, true), 2);
  assertEquals(b[48], 1);
  assertEquals(b[80], 3);
  assertEquals(v.getBigUint64(96, true), BigInt(crc32(b.subarray(0, 96))));
  assertEquals(v.getUint32(104, true), 0);
  assertEquals(v.getBigUint64(112, true), BigInt(DEV));
  assertEquals(new TextDecoder().decode(b.subarray(136, 147)), "/dev/dax0.0");
  assertEquals(checkSuperblock(b, "img", DEV).logLen, 8 * 1024 * 1024);
});

Deno.test("superblock: corruption is reported with its offset", () => {
  const b = encodeSuperblock(sb());
  b[20] ^= 1;
  const e = assertThrows(
    () => checkSuperblock(b, "img", DEV),
    SuperblockError,
    "crc",
  );
  assertEquals(e.offset, 96);
  const m = encodeSuperblock(sb());
  m[0] = 0;
  assertThrows(() => checkSuperblock(m, "img", DEV), SuperblockError, "magic");
  const v47 = encodeSuperblock({ ...sb(), version: 47n });
  assertEquals(assertThrows(() => checkSuperblock(v47, "img", DEV), SuperblockError, "version 47 is not 48").offset, 8);
  assertThrows(
    () => checkSuperblock(encodeSuperblock(sb()), "img", 4 * M2),
    SuperblockError,
    "exceeds",
  );
});

function makeLog(n: number): Uint8Array {
  const logLen = 8 * 1024 * 1024;
  const log = new Uint8Array(logLen);
  log.set(
    encodeLogHeader({
      len: logLen,
      lastIndex: lastIndexFor(logLen),
      nextSeqnum: 0,
      nextIndex: 0,
    }),
  );
  for (let i = 0; i < n; i++) {
    appendLogEntry(log, M2, logLen, {
      kind: "file",
      size: 1000 + i,
      flags: 2,
      uid: 0,
      gid: 0,
      mode: 0o644,
      path: `f${i}`,
      fmap: {
        type: "simple",
        extents: [{ devindex: 0, offset: (6 + i) * M2, len: M2 }],
      },
    });
  }
  return log;
}

Deno.test("log: entry layout (544 bytes, crc @536 over 0..535), last_index 15419 for 8 MiB, replay", () => {
  assertEquals(LOG_ENTRY_SIZE, 544);
  assertEquals(lastIndexFor(8 * 1024 * 1024), 15419);
  const e = encodeLogEntry(7, {
    kind: "file",
    size: 4096,
    flags: 2,
    uid: 1,
    gid: 2,
    mode: 0o600,
    path: "a/b",
    fmap: {
      type: "simple",
      extents: [{ devindex: 0, offset: 4 * M2, len: M2 }],
    },
  });
  assertEquals(e.byteLength, LOG_ENTRY_SIZE);
  const v = new DataView(e.buffer);
  assertEquals(v.getBigUint64(0, true), 7n);
  assertEquals(v.getBigUint64(16, true), 4096n);
  assertEquals(new TextDecoder().decode(e.subarray(40, 43)), "a/b");
  assertEquals(v.getUint32(120, true), 0);
  assertEquals(v.getUint32(128, true), 1);
  assertEquals(v.getBigUint64(136 + 8, true), BigInt(4 * M2));
  assertEquals(v.getBigUint64(536, true), BigInt(crc32(e.subarray(0, 536))));
  const d = decodeLogEntry(e, 7, 0, DEV);
  assertEquals(d.kind === "file" && d.path, "a/b");
  const r = replayLog(makeLog(3), M2, 8 * 1024 * 1024, DEV);
  assertEquals(r.entries.map((x) => x.entry.path), ["f0", "f1", "f2"]);
  assertEquals(r.errors.length, 0);
});

Deno.test("log: interleaved extent has no on-media byte count; decoded nbytes is the file size", () => {
  const strips = [{ devindex: 0, offset: 10 * M2, len: 3 * M2 }, { devindex: 0, offset: 20 * M2, len: 3 * M2 }];
  const e = encodeLogEntry(0, {
    kind: "file",
    size: 5 * M2 + 7,
    flags: 2,
    uid: 0,
    gid: 0,
    mode: 0o100644,
    path: "il",
    fmap: { type: "interleave", iext: [{ nstrips: 2, chunkSize: M2, nbytes: 5 * M2 + 7, strips }] },
  });
  const v = new DataView(e.buffer);
  assertEquals(v.getUint32(120, true), 1);
  assertEquals(v.getUint32(128, true), 1);
  assertEquals(v.getBigUint64(136, true), 2n);
  assertEquals(v.getBigUint64(144, true), BigInt(M2));
  assertEquals(v.getBigUint64(152 + 8, true), BigInt(10 * M2));
  assertEquals(v.getBigUint64(152 + 24 + 8, true), BigInt(20 * M2));
  assert(e.subarray(152 + 48, 536).every((x) => x === 0), "nothing after the strips");
  const d = decodeLogEntry(e, 0, M2 + 48, DEV);
  assert(d.kind === "file" && d.fmap.type === "interleave");
  assertEquals(d.fmap.iext[0].nbytes, 5 * M2 + 7);
  assertEquals(d.fmap.iext[0].strips, strips);
});

Deno.test("log: ADD_DAXDEV (type 3) is accepted and skipped; DELETE (type 2) is corrupt", () => {
  const log = makeLog(1);
  appendLogEntry(log, M2, 8 * 1024 * 1024, { kind: "daxdev", size: DEV, uuid: new Uint8Array(16).fill(9), index: 1 });
  const dax = log.subarray(LOG_HEADER_SIZE + LOG_ENTRY_SIZE, LOG_HEADER_SIZE + 2 * LOG_ENTRY_SIZE);
  const dv = new DataView(dax.buffer, dax.byteOffset);
  assertEquals(dv.getUint32(8, true), 3);
  assertEquals(dv.getBigUint64(16, true), BigInt(DEV));
  assertEquals(dax[24], 9);
  assertEquals(dv.getUint32(40, true), 1);
  appendLogEntry(log, M2, 8 * 1024 * 1024, { kind: "mkdir", uid: 0, gid: 0, mode: 0o755, path: "d" });
  const r = replayLog(log, M2, 8 * 1024 * 1024, DEV);
  assertEquals(r.errors, []);
  assertEquals(r.entries.map((x) => [x.index, x.entry.path]), [[0, "f0"], [2, "d"]]);
  assertEquals(r.daxdevs.map((x) => [x.index, x.entry.index, x.entry.size]), [[1, 1, DEV]]);
  const del = encodeLogEntry(0, { kind: "mkdir", uid: 0, gid: 0, mode: 0o755, path: "x" });
  new DataView(del.buffer).setUint32(8, 2, true);
  new DataView(del.buffer).setBigUint64(536, BigInt(crc32(del.subarray(0, 536))), true);
  assertEquals(assertThrows(() => decodeLogEntry(del, 0, M2 + 48, DEV), LogError, "entry type 2").offset, M2 + 48 + 8);
});

Deno.test("log: a corrupt entry is reported with its offset; other files survive", () => {
  const log = makeLog(3);
  log[LOG_HEADER_SIZE + LOG_ENTRY_SIZE + 45] ^= 0xff; // inside entry 1's path
  const r = replayLog(log, M2, 8 * 1024 * 1024, DEV);
  assertEquals(r.entries.map((x) => x.entry.path), ["f0", "f2"]);
  assertEquals(r.errors.length, 1);
  assertEquals(r.errors[0].index, 1);
  assertEquals(r.errors[0].offset, M2 + LOG_HEADER_SIZE + LOG_ENTRY_SIZE + 536);
  const bad = makeLog(1);
  bad[3] ^= 1;
  assertThrows(
    () => replayLog(bad, M2, 8 * 1024 * 1024, DEV),
    LogError,
    "magic",
  );
});

Deno.test("log: extents at offset 0 and absolute paths are refused", () => {
  const z = encodeLogEntry(0, {
    kind: "file",
    size: 1,
    flags: 2,
    uid: 0,
    gid: 0,
    mode: 0o644,
    path: "x",
    fmap: { type: "simple", extents: [{ devindex: 0, offset: 0, len: M2 }] },
  });
  assertThrows(() => decodeLogEntry(z, 0, M2 + 48, DEV), LogError, "offset 0");
  const abs = encodeLogEntry(0, {
    kind: "mkdir",
    uid: 0,
    gid: 0,
    mode: 0o755,
    path: "/abs",
  });
  assertThrows(
    () => decodeLogEntry(abs, 0, M2 + 48, DEV),
    LogError,
    "relative",
  );
});

Deno.test("alloc: sb/log reserved, first fit, interleave strips, overlap detection", () => {
  const a = new Allocator(DEV, M2, 8 * 1024 * 1024);
  const x = a.allocContiguous(3 * 1024 * 1024, "a");
  assertEquals(x, { devindex: 0, offset: 5 * M2, len: 2 * M2 });
  const f = a.allocInterleaved(20 * 1024 * 1024, 4, M2, "b");
  assert(f.type === "interleave");
  assertEquals(f.iext[0].strips.length, 4);
  assertEquals(f.iext[0].strips[0].len, 3 * M2);
  a.mark({ devindex: 0, offset: 5 * M2, len: M2 }, "dup");
  assertEquals(a.overlaps.length, 1);
});

Deno.test("alloc: interleave math puts chunk k in strip k mod N at (k div N)*C", () => {
  const f = {
    type: "interleave" as const,
    iext: [{
      nstrips: 3,
      chunkSize: M2,
      nbytes: 9 * M2,
      strips: [{ devindex: 0, offset: 10 * M2, len: 3 * M2 }, {
        devindex: 0,
        offset: 20 * M2,
        len: 3 * M2,
      }, {
        devindex: 0,
        offset: 30 * M2,
        len: 3 * M2,
      }],
    }],
  };
  assertEquals(resolveRange(f, 4 * M2 + 5, 10), [{
    devOffset: 20 * M2 + M2 + 5,
    len: 10,
  }]);
  assertEquals(resolveRange(f, M2 - 2, 4), [
    { devOffset: 11 * M2 - 2, len: 2 },
    { devOffset: 20 * M2, len: 2 },
  ]);
});

Deno.test("seed: position-addressable, deterministic", () => {
  const all = seededBytes(42, 0, 10000);
  assertEquals(seededBytes(42, 1234, 100), all.subarray(1234, 1334));
  assertEquals(firstMismatch(42, 0, all), -1);
  const c = all.slice();
  c[777] ^= 1;
  assertEquals(firstMismatch(42, 0, c), 777);
  assert(seededBytes(43, 0, 16).some((x, i) => x !== all[i]));
});
