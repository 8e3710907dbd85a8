import { assertEquals, assertThrows } from "../fuse/assert.ts";
import { ScenarioError } from "./errors.ts";
import { PROFILES } from "./profiles.ts";
import { matchRules, parseScenario, ruleOpcode } from "./scenario.ts";

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
