import assert from "node:assert/strict";
import { CasesFailed, caseTest, judgeCases } from "./cases.ts";
import type { SuiteContext } from "./suite.ts";

Deno.test("cases: one failing case fails the test and names every failing case", () => {
  assert.throws(
    () =>
      judgeCases([
        { case: "nextents 33", kind: "fail", message: "open() succeeded, EINVAL expected" },
        { case: "nextents 32", kind: "pass" },
        { case: "nstrips 33", kind: "fail", message: "open() EIO, EINVAL expected" },
      ]),
    (e: unknown) =>
      e instanceof CasesFailed && e.message === "nextents 33: open() succeeded, EINVAL expected\n" +
          "nstrips 33: open() EIO, EINVAL expected",
  );
});

Deno.test("cases: deviations without failures make a deviation; all skipped is a skip", () => {
  assert.deepEqual(
    judgeCases([
      { case: "a", kind: "pass" },
      { case: "b", kind: "deviation", deviation: "daxdev-errors-at-io", observed: "read EIO" },
    ]),
    { kind: "deviation", deviation: "daxdev-errors-at-io", observed: "b: read EIO" },
  );
  assert.deepEqual(judgeCases([{ case: "a", kind: "skip", reason: "r" }]), { kind: "skip", reason: "r" });
  assert.deepEqual(judgeCases([{ case: "a", kind: "pass" }, { case: "b", kind: "skip", reason: "r" }]), {
    kind: "pass",
  });
});

Deno.test("cases: a case the check forgot to judge fails the test", async () => {
  const recorded: Record<string, unknown>[] = [];
  const ctx = { record: (d: Record<string, unknown>) => recorded.push(d) } as unknown as SuiteContext;
  const t = caseTest<null, { name: string }>({
    name: "t",
    cases: [{ name: "one" }, { name: "two" }],
    check: () => Promise.resolve([{ case: "one", kind: "pass" }]),
  });
  await assert.rejects(() => t.run(ctx, null), /cases not judged: two/);
  assert.deepEqual(recorded, [{ cases: [{ case: "one", kind: "pass" }] }]);
});
