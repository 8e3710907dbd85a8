import assert from "node:assert/strict";
import { renderJunit, tapToJunit } from "./junit.ts";
import { groupBySuite, type TestResult } from "./result.ts";
import { renderTap } from "./tap.ts";
import { sample } from "./testdata/results.ts";

function count(xml: string, re: RegExp): number {
  return [...xml.matchAll(re)].length;
}

Deno.test("tapToJunit: our TAP through tap-junit keeps every test, failure and skip", async () => {
  const j = await tapToJunit("famfs-basic", renderTap(sample));
  assert.deepEqual([j.tests, j.failures, j.skipped], [4, 2, 1]);
  assert.equal(count(j.xml, /<testcase /g), 4);
  assert.equal(count(j.xml, /<failure /g), 2);
  assert.equal(count(j.xml, /<skipped\/>/g), 1);
  assert.match(
    j.xml,
    /<testsuite name="famfs-basic" tests="4" skipped="1" failures="2">/,
  );
  // The YAML message becomes the failure message; the escaped '#' comes back unescaped.
  assert.match(
    j.xml,
    /<failure message="kernel warning: WARNING: CPU: 1 PID: 73 at fs\/fuse\/file.c:123 [^"]*" type="fail"\/>/,
  );
  assert.match(j.xml, /<testcase name="cxl # region" id="3">/);
  assert.match(
    j.xml,
    /message="expected &quot;abc&quot;\s+got &quot;abd&quot;"/,
  );
});

Deno.test("renderJunit: suites merge under one <testsuites> with summed counts", async () => {
  const more: TestResult[] = [
    {
      suite: "fuse-conformance",
      name: "init",
      status: "pass",
      durationMs: 3,
      findings: [],
    },
    {
      suite: "fuse-conformance",
      name: "lookup",
      status: "pass",
      durationMs: 4,
      findings: [],
    },
    {
      suite: "fuse-conformance",
      name: "fsdev",
      status: "skip",
      durationMs: 0,
      skipReason: "no fsdev_dax",
      findings: [],
    },
  ];
  const suites = [...groupBySuite([...sample, ...more])].map((
    [suite, tests],
  ) => ({
    suite,
    tap: renderTap(tests),
  }));
  const xml = await renderJunit(suites, "famfs-lab run-1", 1);
  assert.ok(
    xml.startsWith(
      '<?xml version="1.0"?>\n<testsuites name="famfs-lab run-1" tests="7" failures="2" skipped="2" deviations="1">\n',
    ),
  );
  assert.ok(xml.endsWith("</testsuites>\n"));
  assert.equal(count(xml, /<testsuites /g), 1);
  assert.equal(count(xml, /<testsuite name=/g), 2);
  assert.equal(count(xml, /<testcase /g), 7);
  assert.equal(count(xml, /<failure /g), 2);
  assert.equal(count(xml, /<skipped\/>/g), 2);
  assert.match(
    xml,
    /<testsuite name="fuse-conformance" tests="3" skipped="1" failures="0">/,
  );
});

Deno.test("renderJunit: an empty suite still yields a well-formed element", async () => {
  const xml = await renderJunit([{ suite: "empty", tap: renderTap([]) }]);
  assert.match(
    xml,
    /<testsuites name="famfs-lab" tests="0" failures="0" skipped="0" deviations="0">/,
  );
  assert.match(
    xml,
    /<testsuite name="empty" tests="0" skipped="0" failures="0"\/>/,
  );
});
