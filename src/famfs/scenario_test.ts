import { assertEquals, assertThrows } from "../fuse/assert.ts";
import { ScenarioError } from "./errors.ts";
import { encodeFmap, FamfsFileType } from "./fmap.ts";
import type { Fmap } from "./log.ts";
import { PROFILES } from "./profiles.ts";
import { encodeFmapSpec, matchRules, parseScenario, ruleOpcode, type ScenarioRule } from "./scenario.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const golden = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url)).trim();
const M2 = 0x200000;
const FMAP: Fmap = { type: "simple", extents: [{ devindex: 0, offset: 6 * M2, len: 2 * M2 }] };
const FILE = { type: FamfsFileType.REG, size: 3 * 1024 * 1024, fmap: FMAP };
const IL: Fmap = {
  type: "interleave",
  iext: [{
    nstrips: 2,
    chunkSize: M2,
    nbytes: 8 * M2,
    strips: [{ devindex: 0, offset: 10 * M2, len: 4 * M2 }, { devindex: 1, offset: 20 * M2, len: 4 * M2 }],
  }],
};
/** Parses rules the way the daemon reads them from the scenario file. */
const parse = (rules: ScenarioRule[]) => parseScenario(JSON.stringify({ rules }), "s.json");
const specOf = (rule: ScenarioRule) => parse([rule]).rules[0].fmap!;

Deno.test("scenario: parse, opcode resolution per profile, matching by index", () => {
  const s = parseScenario(
    JSON.stringify({ rules: [{ op: "GET_FMAP", index: 1, error: "EIO" }, { op: 3, reply: "short", bytes: 4 }] }),
    "s.json",
  );
  assertEquals(ruleOpcode(s.rules[0], PROFILES["rfc-v2"]), 53);
  assertEquals(ruleOpcode(s.rules[0], PROFILES.ref), 54);
  assertEquals(matchRules(s, PROFILES.ref, 54, 0).length, 0);
  assertEquals(matchRules(s, PROFILES.ref, 54, 1).length, 1);
  assertEquals(matchRules(s, PROFILES.ref, 3, 7).length, 1);
});

Deno.test("scenario: bad files are refused naming the file and rule", () => {
  assertThrows(() => parseScenario("{", "bad.json"), ScenarioError, "bad.json");
  assertThrows(() => parseScenario(`{"rules":[{"op":"NOPE"}]}`, "x.json"), ScenarioError, `unknown opcode "NOPE"`);
  assertThrows(() => parseScenario(`{"rules":[{"op":"LOOKUP","error":"EWHAT"}]}`, "x.json"), ScenarioError, "errno");
  assertThrows(() => parseScenario(`{"rules":[{"op":"LOOKUP","reply":"short"}]}`, "x.json"), ScenarioError, "bytes");
  assertThrows(() => parseScenario(`{"rules":[{"op":"LOOKUP","delay":5}]}`, "x.json"), ScenarioError, `"delay"`);
});

Deno.test("scenario fmap: every header and extent field written as given, u64 beyond 2^53, byte-exact", () => {
  const b = encodeFmapSpec(
    specOf({
      op: "GET_FMAP",
      fmap: {
        header: {
          file_type: 7,
          reserved: 0xaa,
          fmap_version: 2,
          ext_type: 0,
          nextents: 33,
          reserved0: "0xdeadbeef",
          file_size: "18446744073709551615",
          reserved1: "0x0102030405060708",
        },
        extents: [{ devindex: 23, reserved: 5, offset: "9007199254740993", len: "0xfffffffffffff000" }, {
          offset: 4096,
          len: 0,
        }],
      },
    }),
    FILE,
  );
  assertEquals(hex(b), golden("fmap_spec_simple.hex"));
  const v = new DataView(b.buffer);
  assertEquals(b.byteLength, 32 + 2 * 24);
  assertEquals([v.getUint8(0), v.getUint8(1), v.getUint16(2, true)], [7, 0xaa, 2]); // file_type, reserved, version
  assertEquals([v.getUint32(8, true), v.getUint32(12, true)], [33, 0xdeadbeef]); // nextents, reserved0
  assertEquals(v.getBigUint64(16, true), 2n ** 64n - 1n); // file_size
  assertEquals(v.getBigUint64(32 + 8, true), 2n ** 53n + 1n); // first se_offset, exact past 2^53
  assertEquals(v.getUint32(32 + 24, true), 0); // second extent: devindex defaults to 0
});

Deno.test("scenario fmap: interleaved extents with inconsistent nstrips, byte-exact", () => {
  const b = encodeFmapSpec(
    specOf({
      op: "GET_FMAP",
      fmap: {
        iext: [{
          nstrips: 33,
          chunk_size: 4095,
          nbytes: "0x8000000000000000",
          reserved: 1,
          strips: [{ devindex: 1, offset: M2, len: M2 }, { devindex: 24, offset: "0", len: 4096 }],
        }],
      },
    }),
    FILE,
  );
  assertEquals(hex(b), golden("fmap_spec_interleave.hex"));
  const v = new DataView(b.buffer);
  assertEquals([v.getUint32(4, true), v.getUint32(8, true)], [1, 1]); // ext_type INTERLEAVE, one iext
  assertEquals([v.getUint32(32, true), v.getUint32(36, true)], [33, 4095]); // nstrips as written, chunk_size
  assertEquals(v.getUint32(32 + 24 + 24, true), 24); // second strip's devindex
});

Deno.test("scenario fmap: without extents the file's own map, header fields replaced", () => {
  const real = encodeFmap(FamfsFileType.REG, FILE.size, FMAP);
  assertEquals(encodeFmapSpec({}, FILE), real);
  const v2 = encodeFmapSpec({ header: { fmap_version: 2 } }, FILE);
  assertEquals(new DataView(v2.buffer).getUint16(2, true), 2);
  assertEquals(v2.subarray(4), real.subarray(4));
  const il = { type: FamfsFileType.REG, size: 8 * M2, fmap: IL };
  assertEquals(encodeFmapSpec({}, il), encodeFmap(FamfsFileType.REG, 8 * M2, IL));
});

Deno.test("scenario fmap: length cuts or pads the reply (header only, 1 byte, page, page + 1)", () => {
  const real = encodeFmap(FamfsFileType.REG, FILE.size, FMAP);
  assertEquals(encodeFmapSpec({ length: 32 }, FILE), real.subarray(0, 32));
  assertEquals(encodeFmapSpec({ length: 1 }, FILE), real.subarray(0, 1));
  assertEquals(encodeFmapSpec({ length: 0 }, FILE).byteLength, 0);
  for (const n of [4096, 4097]) {
    const b = encodeFmapSpec({ length: n }, FILE);
    assertEquals(b.byteLength, n);
    assertEquals(b.subarray(0, real.byteLength), real);
    assertEquals(b.subarray(real.byteLength).every((x) => x === 0), true);
  }
});

Deno.test("scenario fmap: bad specs are refused naming the rule and key", () => {
  const bad = (rule: Record<string, unknown>, what: string) =>
    assertThrows(
      () => parseScenario(JSON.stringify({ rules: [{ op: "LOOKUP" }, rule] }), "x.json"),
      ScenarioError,
      what,
    );
  bad({ op: "GET_DAXDEV", fmap: {} }, `x.json: rule 1: "fmap" applies to op "GET_FMAP" only`);
  bad({ op: "GET_FMAP", fmap: {}, shift: 4096 }, `rule 1: "fmap" replaces the whole map`);
  bad({ op: "GET_FMAP", fmap: [] }, `rule 1: "fmap" must be an object`);
  bad({ op: "GET_FMAP", fmap: { extent: [] } }, `rule 1: "fmap.extent" is not a key (choices: header, extents`);
  bad(
    { op: "GET_FMAP", fmap: { header: { version: 1 } } },
    `rule 1: "fmap.header.version" is not a field (choices: file_type`,
  );
  bad({ op: "GET_FMAP", fmap: { header: { file_type: 256 } } }, `rule 1: "fmap.header.file_type" 256 is not a u8`);
  bad({ op: "GET_FMAP", fmap: { header: { nextents: -1 } } }, `"fmap.header.nextents" -1 is not a u32`);
  bad({ op: "GET_FMAP", fmap: { header: { file_size: "18446744073709551616" } } }, `"fmap.header.file_size"`);
  bad({ op: "GET_FMAP", fmap: { header: { file_size: 2 ** 53 } } }, `or a decimal or 0x string`);
  bad({ op: "GET_FMAP", fmap: { header: { file_size: "12k" } } }, `"fmap.header.file_size" "12k"`);
  bad({ op: "GET_FMAP", fmap: { extents: [{ offset: 0 }] } }, `rule 1: "fmap.extents[0].len" is required`);
  bad({ op: "GET_FMAP", fmap: { extents: [], iext: [] } }, `not both`);
  bad({ op: "GET_FMAP", fmap: { iext: [{ chunk_size: 4096, nbytes: 0 }] } }, `"fmap.iext[0].strips" is required`);
  bad(
    {
      op: "GET_FMAP",
      fmap: { iext: [{ chunk_size: 1, nbytes: 0, strips: [{ offset: 0, len: 0, devindex: 2 ** 32 }] }] },
    },
    `"fmap.iext[0].strips[0].devindex" 4294967296 is not a u32`,
  );
  bad({ op: "GET_FMAP", fmap: { length: -1 } }, `rule 1: "fmap.length" must be an integer 0..1048576`);
  bad({ op: "GET_FMAP", fmap: { length: 1.5 } }, `"fmap.length"`);
});
