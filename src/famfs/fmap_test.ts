/** Golden byte layouts of every famfs wire struct, checked against the protocol doc's offsets. */
import { assertEquals, assertThrows } from "../fuse/assert.ts";
import { checkFmapForProfile, DAXDEV_OUT_SIZE, encodeDaxdevOut, encodeFmap, FamfsFileType } from "./fmap.ts";
import { FmapError } from "./errors.ts";
import { PROFILES } from "./profiles.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const M2 = 0x200000;

Deno.test("fmap: simple header + extents, byte-exact", () => {
  const b = encodeFmap(FamfsFileType.REG, 5 * 1024 * 1024, {
    type: "simple",
    extents: [{ devindex: 0, offset: 5 * M2, len: 3 * M2 }, {
      devindex: 2,
      offset: 0x1000000,
      len: M2,
    }],
  });
  assertEquals(b.byteLength, 32 + 2 * 24);
  const golden = Deno.readTextFileSync(
    new URL("./testdata/fmap_simple.hex", import.meta.url),
  ).trim();
  assertEquals(hex(b), golden);
  const v = new DataView(b.buffer);
  assertEquals(v.getUint8(0), 0); // file_type REG @0
  assertEquals(v.getUint16(2, true), 1); // fmap_version @2
  assertEquals(v.getUint32(4, true), 0); // ext_type SIMPLE @4
  assertEquals(v.getUint32(8, true), 2); // nextents @8
  assertEquals(v.getBigUint64(16, true), 5n * 1024n * 1024n); // file_size @16
  assertEquals(v.getUint32(32 + 24, true), 2); // second se_devindex @0 of ext
  assertEquals(v.getBigUint64(32 + 8, true), BigInt(5 * M2)); // se_offset @8
  assertEquals(v.getBigUint64(32 + 16, true), BigInt(3 * M2)); // se_len @16
});

Deno.test("fmap: interleaved header + iext + strips, byte-exact", () => {
  const b = encodeFmap(FamfsFileType.REG, 20 * 1024 * 1024, {
    type: "interleave",
    iext: [{
      nstrips: 2,
      chunkSize: M2,
      nbytes: 20 * 1024 * 1024,
      strips: [{ devindex: 0, offset: 8 * M2, len: 6 * M2 }, {
        devindex: 1,
        offset: 20 * M2,
        len: 6 * M2,
      }],
    }],
  });
  assertEquals(b.byteLength, 32 + 24 + 2 * 24);
  const v = new DataView(b.buffer);
  assertEquals(v.getUint32(4, true), 1); // INTERLEAVE
  assertEquals(v.getUint32(8, true), 1); // one interleaved extent
  assertEquals(v.getUint32(32, true), 2); // ie_nstrips @0
  assertEquals(v.getUint32(36, true), M2); // ie_chunk_size @4
  assertEquals(v.getBigUint64(40, true), 20n * 1024n * 1024n); // ie_nbytes @8
  assertEquals(v.getBigUint64(48, true), 0n); // reserved @16
  assertEquals(v.getUint32(56 + 24, true), 1); // strip 1 devindex
  assertEquals(
    hex(b),
    Deno.readTextFileSync(
      new URL("./testdata/fmap_interleave.hex", import.meta.url),
    ).trim(),
  );
});

Deno.test("fmap: superblock and log file types", () => {
  const sb = encodeFmap(FamfsFileType.SUPERBLOCK, M2, {
    type: "simple",
    extents: [{ devindex: 0, offset: 0, len: M2 }],
  });
  const log = encodeFmap(FamfsFileType.LOG, 4 * M2, {
    type: "simple",
    extents: [{ devindex: 0, offset: M2, len: 4 * M2 }],
  });
  assertEquals(sb[0], 1);
  assertEquals(log[0], 2);
});

Deno.test("daxdev_out: 280 bytes, index @0, name @24, NUL-terminated", () => {
  const b = encodeDaxdevOut({ index: 3, name: "/dev/dax0.0" });
  assertEquals(b.byteLength, DAXDEV_OUT_SIZE);
  assertEquals(new DataView(b.buffer).getUint16(0, true), 3);
  assertEquals(new TextDecoder().decode(b.subarray(24, 35)), "/dev/dax0.0");
  assertEquals(b[35], 0);
  assertEquals(
    hex(b),
    Deno.readTextFileSync(new URL("./testdata/daxdev_out.hex", import.meta.url))
      .trim(),
  );
});

Deno.test("daxdev_out: unterminated 256-byte name fills the array", () => {
  const b = encodeDaxdevOut({ index: 0, name: new Uint8Array(256).fill(0x61) });
  assertEquals(b.byteLength, 280);
  assertEquals(b.subarray(24).every((x) => x === 0x61), true);
  assertThrows(
    () => encodeDaxdevOut({ index: 0, name: "x".repeat(256) }),
    FmapError,
  );
});

Deno.test("profiles: numbers and extent rules", () => {
  assertEquals([
    PROFILES["rfc-v2"].getFmapOpcode,
    PROFILES["rfc-v2"].getDaxdevOpcode,
    PROFILES["rfc-v2"].initFlag,
  ], [53, 54, 1n << 42n]);
  assertEquals([
    PROFILES.v3.getFmapOpcode,
    PROFILES.v3.getDaxdevOpcode,
    PROFILES.v3.initFlag,
  ], [54, 55, 1n << 43n]);
  assertEquals([
    PROFILES.ref.getFmapOpcode,
    PROFILES.ref.getDaxdevOpcode,
    PROFILES.ref.initFlag,
  ], [54, 55, 1n << 44n]);
  const dev1 = {
    type: "simple" as const,
    extents: [{ devindex: 1, offset: M2, len: M2 }],
  };
  assertThrows(
    () => checkFmapForProfile(dev1, PROFILES.v3),
    FmapError,
    "devindex 0",
  );
  checkFmapForProfile(dev1, PROFILES.ref);
  const odd = {
    type: "simple" as const,
    extents: [{ devindex: 0, offset: 4096, len: M2 }],
  };
  assertThrows(
    () => checkFmapForProfile(odd, PROFILES.ref),
    FmapError,
    "aligned",
  );
  assertThrows(() => checkFmapForProfile(odd, PROFILES["rfc-v2"]), FmapError, "aligned");
  const far = {
    type: "simple" as const,
    extents: [{ devindex: 24, offset: M2, len: M2 }],
  };
  assertThrows(
    () => checkFmapForProfile(far, PROFILES["rfc-v2"]),
    FmapError,
    "24",
  );
});
