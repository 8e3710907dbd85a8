import assert from "node:assert/strict";
import { countLine, countResults, runExitCode } from "./result.ts";
import { sample } from "./testdata/results.ts";

Deno.test("counts keep deviations apart from passes and failures; --strict makes them fail the run", () => {
  const dev = { ...sample[0], name: "daxdev-error", status: "deviation" as const, deviation: "daxdev-errors-at-io" };
  const c = countResults([...sample, dev]);
  assert.equal(countLine(c), "1 passed, 2 failed, 1 skipped, 1 deviations");
  assert.equal(runExitCode(c, false), 1);
  const clean = countResults([sample[0], dev]);
  assert.equal(runExitCode(clean, false), 0, "a deviation alone does not fail the run");
  assert.equal(runExitCode(clean, true), 1, "--strict: it does");
  assert.equal(runExitCode(countResults([sample[0]]), true), 0);
});
