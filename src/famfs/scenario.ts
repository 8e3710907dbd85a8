/**
 * Fault-injection scenarios: a JSON file scripting replies per opcode and
 * per occurrence index (see README.md). Parsing and reply rewriting are pure;
 * the daemon applies them in its worker threads.
 */
import { Opcode, parseErrno } from "../fuse/abi.ts";
import { encodeReply } from "../fuse/codec.ts";
import { ScenarioError } from "./errors.ts";
import type { Profile } from "./profiles.ts";

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
  });
  return { rules: rules as ScenarioRule[] };
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
