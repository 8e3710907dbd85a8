import assert from "node:assert/strict";
import type { TestResult } from "./report/result.ts";
import { caughtBy, listMutants, mutantFlavour, renderSensitivity } from "./sensitivity.ts";
import { MUTANT_DIR } from "./patches.ts";

const t = (suite: string, name: string, status: TestResult["status"]): TestResult => ({
  suite,
  name,
  status,
  durationMs: 1,
  findings: [],
});

Deno.test("a mutant is caught only by tests that passed on the clean series and fail on it", () => {
  const clean = [
    t("get_daxdev@pmem", "nul", "pass"),
    t("teardown@pmem", "remount", "pass"),
    t("smoke@pmem", "x", "fail"),
  ];
  const mutant = [
    t("get_daxdev@pmem", "nul", "fail"),
    t("teardown@pmem", "remount", "pass"),
    t("smoke@pmem", "x", "fail"),
  ];
  assert.deepEqual(caughtBy(clean, mutant), ["get_daxdev@pmem/nul"]);
  const table = renderSensitivity(clean, [
    { mutant: "no-nul-termination", caughtBy: caughtBy(clean, mutant) },
    { mutant: "leak-name", caughtBy: [] },
  ]);
  assert.match(table, /\| no-nul-termination \| get_daxdev \| get_daxdev@pmem\/nul \|/);
  assert.match(table, /\| leak-name \| \*\*missed\*\* \|/);
  assert.match(table, /2\/3 not failing \(failing: smoke@pmem\/x\)/);
});

Deno.test("the shipped mutants are listed by name", () => {
  const names = listMutants();
  assert.ok(names.includes("leak-name") && names.includes("skip-nodev-check"), names.join(","));
});

Deno.test("a mutant that only a debug kernel can observe says so in its message", async () => {
  const text = (name: string) => Deno.readTextFile(`${MUTANT_DIR}${name}.patch`);
  assert.equal(mutantFlavour(await text("leak-name")), "debug");
  assert.equal(mutantFlavour(await text("skip-nodev-check")), undefined);
  const row = renderSensitivity([], [{ mutant: "leak-name", flavour: "debug", caughtBy: ["teardown@pmem/kmemleak"] }]);
  assert.match(row, /\| leak-name \| teardown \(debug kernel\) \|/);
});
