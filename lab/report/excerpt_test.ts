import assert from "node:assert/strict";
import { consoleExcerpt, excerptFile } from "./excerpt.ts";

const log = (name: string) => Deno.readTextFile(new URL(`../testdata/console/${name}`, import.meta.url));

Deno.test("a test's excerpt runs from its begin marker to its end marker, report included", async () => {
  const text = await log("lkdtm-warn-bug-exception.log");
  const bug = consoleExcerpt(text, "bug_case")!.trimEnd().split("\n");
  assert.match(bug[0], /famfs-lab: test-begin bug_case$/);
  assert.match(bug.at(-1)!, /famfs-lab: test-end bug_case$/);
  assert.equal(bug.length, 345 - 300 + 1);
  assert.ok(bug.some((l) => l.includes("kernel BUG at drivers/misc/lkdtm/bugs.c:132!")));
  assert.ok(!bug.some((l) => l.includes("\r")));
  assert.equal(consoleExcerpt(text, "quiet_case")!.trimEnd().split("\n").length, 2);
  assert.equal(consoleExcerpt(text, "no_such_case"), null);
});

Deno.test("a test the guest died in runs to the end of the log", async () => {
  const text = await log("sysrq-crash.log");
  const crash = consoleExcerpt(text, "crash_case")!;
  assert.match(crash, /Kernel panic - not syncing: sysrq triggered crash/);
  assert.equal(crash.trimEnd().split("\n").length, text.trimEnd().split("\n").length - 271);
});

Deno.test("excerpt file names are safe", () => {
  assert.equal(excerptFile("get_daxdev/nul"), "excerpts/get_daxdev-nul.log");
});
