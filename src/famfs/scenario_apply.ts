/** Small helpers the server uses to apply scenario rules. */
import { parseErrno } from "../fuse/abi.ts";
import { ScenarioError } from "./errors.ts";
import { reshapePayload, type ScenarioRule } from "./scenario.ts";

export { matchRules, type Scenario, type ScenarioRule } from "./scenario.ts";

export function parseErrnoOrThrow(e: string | number): number {
  const n = parseErrno(e);
  if (n === undefined) {
    throw new ScenarioError("<scenario>", `unknown errno ${e}`);
  }
  return n;
}

export function reshapePayloadFor(
  rule: ScenarioRule,
  unique: bigint,
  payload: Uint8Array,
): Uint8Array {
  return reshapePayload(rule, unique, payload);
}
