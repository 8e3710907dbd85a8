/**
 * Fault-injection scenarios: a JSON file scripting replies per opcode and
 * per occurrence index (see README.md). Parsing and reply rewriting are pure;
 * scenario_layer.ts applies them around the daemon's request handlers.
 */
import { Opcode, parseErrno } from "../fuse/abi.ts";
import { encodeReply } from "../fuse/codec.ts";
import type { Field, FieldType } from "../fuse/struct.ts";
import { ScenarioError } from "./errors.ts";
import { FamfsExtType, type FamfsFileType, FMAP_HEADER, FMAP_VERSION, IEXT, SIMPLE_EXT } from "./fmap.ts";
import type { Fmap } from "./log.ts";
import type { Profile } from "./profiles.ts";

/**
 * A u64 (or any integer field) in JSON: a number up to 2^53 - 1, or a decimal
 * or 0x-hex string for any value of the field's width (JSON numbers cannot
 * carry 2^64 - 1 exactly).
 */
export type IntJson = number | string;

/** fuse_famfs_fmap_header, field by field; omitted fields take the file's real values (reserved: 0). */
export interface FmapHeaderSpec {
  file_type?: IntJson;
  reserved?: IntJson;
  fmap_version?: IntJson;
  ext_type?: IntJson;
  nextents?: IntJson;
  reserved0?: IntJson;
  file_size?: IntJson;
  reserved1?: IntJson;
}

/** fuse_famfs_simple_ext; devindex and reserved default to 0. */
export interface SimpleExtentSpec {
  devindex?: IntJson;
  reserved?: IntJson;
  offset: IntJson;
  len: IntJson;
}

/** fuse_famfs_iext and its strips; nstrips defaults to the number of strips listed. */
export interface InterleavedExtentSpec {
  nstrips?: IntJson;
  chunk_size: IntJson;
  nbytes: IntJson;
  reserved?: IntJson;
  strips: SimpleExtentSpec[];
}

/**
 * A GET_FMAP reply written field by field. Without `extents` and `iext` the
 * file's real extents are sent (under the header given). Any value is sent as
 * written, consistent or not, and the daemon does not check it.
 */
export interface FmapReplySpec {
  header?: FmapHeaderSpec;
  /** Simple extents (ext_type defaults to SIMPLE, nextents to their count). */
  extents?: SimpleExtentSpec[];
  /** Interleaved extents (ext_type defaults to INTERLEAVE, nextents to their count). */
  iext?: InterleavedExtentSpec[];
  /** Payload bytes after fuse_out_header: cuts the encoded map or pads it with zeros. */
  length?: number;
}

export interface ScenarioRule {
  /** Opcode name (LOOKUP, GET_FMAP, GET_DAXDEV, ...) or number. */
  op: string | number;
  /** 0-based occurrence of this opcode (counted over all workers); omitted = every occurrence. */
  index?: number;
  /** Reply with this errno (name or number). */
  error?: string | number;
  /** Reshape the normal reply payload. */
  reply?: "short" | "long" | "garbage";
  /** short: keep this many bytes; long: append this many; garbage: this many random bytes. */
  bytes?: number;
  /** GET_DAXDEV name: a path, or @unterminated, @regular, @devnull, @nodev. */
  name?: string;
  /** GET_DAXDEV: index field of the reply; GET_FMAP: devindex of every extent. */
  devindex?: number;
  /** GET_FMAP: bytes added to the device offset of every extent (4096: no longer 2 MiB aligned). */
  shift?: number;
  /** GET_FMAP: replace the reply with this map. */
  fmap?: FmapReplySpec;
  delayMs?: number;
  crashAfterReply?: boolean;
  /** Only requests whose fuse_in_header.nodeid is this (GET_DAXDEV: the device index). */
  nodeid?: number;
  /** Only requests on this file (path relative to the mount, e.g. "dir/f"). */
  file?: string;
}

export interface Scenario {
  rules: ScenarioRule[];
}

const KEYS = new Set([
  "op",
  "index",
  "error",
  "reply",
  "bytes",
  "name",
  "devindex",
  "shift",
  "fmap",
  "delayMs",
  "crashAfterReply",
  "nodeid",
  "file",
  "comment",
]);

export function parseScenario(text: string, file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(file, `not JSON: ${(e as Error).message}`);
  }
  const rules = (raw as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) {
    throw new ScenarioError(file, `needs {"rules": [...]}`);
  }
  rules.forEach((r, i) => {
    if (typeof r !== "object" || r === null) {
      throw new ScenarioError(file, `rule ${i} is not an object`);
    }
    for (const k of Object.keys(r)) {
      if (!KEYS.has(k)) {
        throw new ScenarioError(file, `rule ${i}: unknown key "${k}"`);
      }
    }
    const rule = r as ScenarioRule;
    if (typeof rule.op !== "string" && typeof rule.op !== "number") {
      throw new ScenarioError(
        file,
        `rule ${i}: "op" must be an opcode name or number`,
      );
    }
    if (
      typeof rule.op === "string" && !(rule.op in Opcode) &&
      rule.op !== "GET_FMAP" && rule.op !== "GET_DAXDEV"
    ) {
      throw new ScenarioError(file, `rule ${i}: unknown opcode "${rule.op}"`);
    }
    if (rule.error !== undefined && parseErrno(rule.error) === undefined) {
      throw new ScenarioError(
        file,
        `rule ${i}: unknown errno ${JSON.stringify(rule.error)}`,
      );
    }
    if (
      rule.reply !== undefined &&
      !["short", "long", "garbage"].includes(rule.reply)
    ) {
      throw new ScenarioError(
        file,
        `rule ${i}: reply must be short, long or garbage`,
      );
    }
    if (
      rule.reply !== undefined &&
      !(Number.isInteger(rule.bytes) && rule.bytes! >= 0)
    ) {
      throw new ScenarioError(
        file,
        `rule ${i}: reply "${rule.reply}" needs "bytes" >= 0`,
      );
    }
    if (rule.shift !== undefined && !(Number.isInteger(rule.shift) && rule.shift >= 0)) {
      throw new ScenarioError(file, `rule ${i}: "shift" must be an integer >= 0`);
    }
    if (rule.fmap !== undefined) {
      const bad = (key: string, why: string) => new ScenarioError(file, `rule ${i}: "${key}" ${why}`);
      if (rule.op !== "GET_FMAP") throw bad("fmap", `applies to op "GET_FMAP" only`);
      if (rule.devindex !== undefined || rule.shift !== undefined) {
        throw bad("fmap", `replaces the whole map: drop "devindex" and "shift" (write them into its extents)`);
      }
      checkFmapSpec(rule.fmap, bad);
    }
  });
  return { rules: rules as ScenarioRule[] };
}

/** Largest `fmap.length`: well past any page size a kernel reads. */
export const FMAP_SPEC_MAX_LENGTH = 1 << 20;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** Checks keys and values of an `fmap` spec against the wire tables; `bad(key, why)` builds the error. */
function checkFmapSpec(spec: unknown, bad: (key: string, why: string) => ScenarioError): void {
  if (!isObject(spec)) throw bad("fmap", "must be an object {header, extents | iext, length}");
  const fields = (at: string, x: unknown, table: readonly Field[], extra: string[], required: string[]) => {
    if (!isObject(x)) throw bad(at, "must be an object");
    const names = [...table.map((f) => f.name), ...extra];
    for (const k of Object.keys(x)) {
      if (!names.includes(k)) throw bad(`${at}.${k}`, `is not a field (choices: ${names.join(", ")})`);
    }
    for (const k of required) if (x[k] === undefined) throw bad(`${at}.${k}`, "is required");
    for (const f of table) {
      if (x[f.name] !== undefined && intValue(x[f.name], f.type) === undefined) {
        throw bad(`${at}.${f.name}`, `${JSON.stringify(x[f.name])} is not a ${f.type} ${INT_FORMS}`);
      }
    }
  };
  const list = (at: string, x: unknown, each: (at: string, y: unknown) => void) => {
    if (!Array.isArray(x)) throw bad(at, "must be a list");
    x.forEach((y, j) => each(`${at}[${j}]`, y));
  };
  const simple = (at: string, x: unknown) => fields(at, x, SIMPLE_EXT.fields, [], ["offset", "len"]);
  for (const k of Object.keys(spec)) {
    if (!["header", "extents", "iext", "length"].includes(k)) {
      throw bad(`fmap.${k}`, "is not a key (choices: header, extents, iext, length)");
    }
  }
  if (spec.header !== undefined) fields("fmap.header", spec.header, FMAP_HEADER.fields, [], []);
  if (spec.extents !== undefined && spec.iext !== undefined) {
    throw bad("fmap", `takes "extents" (simple) or "iext" (interleaved), not both`);
  }
  if (spec.extents !== undefined) list("fmap.extents", spec.extents, simple);
  if (spec.iext !== undefined) {
    list("fmap.iext", spec.iext, (at, ie) => {
      fields(at, ie, IEXT.fields, ["strips"], ["chunk_size", "nbytes", "strips"]);
      list(`${at}.strips`, (ie as Record<string, unknown>).strips, simple);
    });
  }
  const n = spec.length;
  if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 0 && (n as number) <= FMAP_SPEC_MAX_LENGTH)) {
    throw bad("fmap.length", `must be an integer 0..${FMAP_SPEC_MAX_LENGTH} (payload bytes)`);
  }
}

const INT_FORMS = "(a number up to 2^53 - 1, or a decimal or 0x string)";
const BITS: Partial<Record<FieldType, bigint>> = { u8: 8n, u16: 16n, u32: 32n, u64: 64n };

/** The value of an integer field given in JSON, or undefined when it is not one or out of the field's range. */
export function intValue(x: unknown, type: FieldType): bigint | undefined {
  let v: bigint;
  if (typeof x === "number" && Number.isSafeInteger(x)) v = BigInt(x);
  else if (typeof x === "string" && /^(0x[0-9a-f]+|[0-9]+)$/i.test(x)) v = BigInt(x);
  else return undefined;
  const bits = BITS[type];
  return bits !== undefined && v >= 0n && v < 1n << bits ? v : undefined;
}

/** What the daemon would send for this file: the defaults of an `fmap` spec. */
export interface FileFmap {
  type: FamfsFileType;
  size: number;
  fmap: Fmap;
}

/** Encodes an `fmap` spec (validated by parseScenario) over a file's real map. Pure. */
export function encodeFmapSpec(spec: FmapReplySpec, file: FileFmap): Uint8Array {
  const u = (x: IntJson | undefined, type: FieldType, dflt: bigint | number): bigint =>
    x === undefined ? BigInt(dflt) : intValue(x, type)!;
  const n = (x: IntJson | undefined, type: FieldType, dflt: number) => Number(u(x, type, dflt));
  const simple = (e: SimpleExtentSpec) => ({
    devindex: n(e.devindex, "u32", 0),
    reserved: n(e.reserved, "u32", 0),
    offset: u(e.offset, "u64", 0),
    len: u(e.len, "u64", 0),
  });
  const real = file.fmap;
  const toSpec = (x: { devindex: number; offset: number; len: number }) => ({ ...x });
  let extents = spec.extents;
  let iext = spec.iext;
  if (!extents && !iext) {
    if (real.type === "simple") extents = real.extents.map(toSpec);
    else {
      iext = real.iext.map((ie) => ({
        chunk_size: ie.chunkSize,
        nbytes: ie.nbytes,
        strips: ie.strips.map(toSpec),
      }));
    }
  }
  const h = spec.header ?? {};
  const body: Uint8Array[] = [];
  for (const e of extents ?? []) body.push(SIMPLE_EXT.encode(simple(e)));
  for (const ie of iext ?? []) {
    body.push(IEXT.encode({
      nstrips: n(ie.nstrips, "u32", ie.strips.length),
      chunk_size: n(ie.chunk_size, "u32", 0),
      nbytes: u(ie.nbytes, "u64", 0),
      reserved: u(ie.reserved, "u64", 0),
    }));
    for (const x of ie.strips) body.push(SIMPLE_EXT.encode(simple(x)));
  }
  const header = FMAP_HEADER.encode({
    file_type: n(h.file_type, "u8", file.type),
    reserved: n(h.reserved, "u8", 0),
    fmap_version: n(h.fmap_version, "u16", FMAP_VERSION),
    ext_type: n(h.ext_type, "u32", iext ? FamfsExtType.INTERLEAVE : FamfsExtType.SIMPLE),
    nextents: n(h.nextents, "u32", (extents ?? iext ?? []).length),
    reserved0: n(h.reserved0, "u32", 0),
    file_size: u(h.file_size, "u64", file.size),
    reserved1: u(h.reserved1, "u64", 0),
  });
  const encoded = [header, ...body].reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(spec.length ?? encoded);
  let p = 0;
  for (const part of [header, ...body]) {
    if (p >= out.byteLength) break;
    out.set(part.subarray(0, out.byteLength - p), p);
    p += part.byteLength;
  }
  return out;
}

/** errno of a rule's `error` (validated by parseScenario). */
export function errnoOf(e: string | number): number {
  const n = parseErrno(e);
  if (n === undefined) {
    throw new ScenarioError("<scenario>", `unknown errno ${e}`);
  }
  return n;
}

/** Resolves a rule's opcode under a profile. */
export function ruleOpcode(rule: ScenarioRule, profile: Profile): number {
  if (typeof rule.op === "number") return rule.op;
  if (rule.op === "GET_FMAP") return profile.getFmapOpcode;
  if (rule.op === "GET_DAXDEV") return profile.getDaxdevOpcode;
  return Opcode[rule.op as keyof typeof Opcode];
}

/** Rules matching the `occurrence`-th request (0-based) of `opcode`. */
export function matchRules(
  s: Scenario,
  profile: Profile,
  opcode: number,
  occurrence: number,
): ScenarioRule[] {
  return s.rules.filter((r) =>
    ruleOpcode(r, profile) === opcode &&
    (r.index === undefined || r.index === occurrence)
  );
}

/** Deterministic garbage bytes (xorshift32 seeded by the request unique). */
export function garbage(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed | 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Reshapes a payload as the rule says; returns a full raw message (header + payload). */
export function reshapePayload(
  rule: ScenarioRule,
  unique: bigint,
  payload: Uint8Array,
): Uint8Array {
  const n = rule.bytes ?? 0;
  let body: Uint8Array;
  if (rule.reply === "short") {
    body = payload.subarray(0, Math.min(n, payload.byteLength));
  } else if (rule.reply === "long") {
    body = new Uint8Array(payload.byteLength + n);
    body.set(payload);
    body.set(garbage(n, Number(unique & 0xffffffffn)), payload.byteLength);
  } else body = garbage(n, Number(unique & 0xffffffffn));
  return encodeReply(unique, 0, body);
}
