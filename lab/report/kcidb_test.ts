import assert from "node:assert/strict";
import { schemaCheck } from "../json_schema.ts";
import { KcidbError, type KcidbReport, kcidbStatus, toKcidb } from "./kcidb.ts";
import type { RunSummary } from "./summary.ts";

const schema = JSON.parse(await Deno.readTextFile(new URL("./schema/kcidb.v4.json", import.meta.url)));
const errors = schemaCheck(schema);
const smokeRun = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/smoke-run.summary.json", import.meta.url)),
) as RunSummary;
const opts = { origin: "famfs_lab", baseUrl: "https://ci.example.org/nightly/42", lab: "2388b1b" };

Deno.test("a captured run becomes a KCIDB v4 report that the schema accepts", () => {
  const r = toKcidb(smokeRun, opts);
  assert.equal(errors(r), "");
  assert.deepEqual(r.version, { major: 4, minor: 5 });
  assert.equal(r.tests.length, smokeRun.tests.length);
  assert.equal(new Set(r.tests.map((t) => t.id)).size, r.tests.length, "test ids are unique");
  assert.deepEqual(r.tests.map((t) => t.status), ["PASS", "FAIL", "PASS", "PASS", "PASS"]);
  const failed = r.tests[1];
  assert.equal(failed.path, "famfs_lab.smoke.devdax-mmap-roundtrip");
  assert.equal(failed.log_url, "https://ci.example.org/nightly/42/default/console.log");
  assert.deepEqual(failed.output_files, [{
    name: "repro.sh",
    url: "https://ci.example.org/nightly/42/default/repro.sh",
  }]);
  assert.match(failed.log_excerpt!, /Deno has panicked/);
  assert.equal(
    r.tests.every((t) => t.build_id === r.builds[0].id && r.builds[0].checkout_id === r.checkouts[0].id),
    true,
  );
  assert.equal(r.builds[0].config_name, "base");
  // Another run of the same kernel shares checkout and build, never a test id.
  const again = toKcidb({ ...smokeRun, runId: "smoke2" }, opts);
  assert.equal(again.builds[0].id, r.builds[0].id);
  assert.equal(again.tests.some((t) => r.tests.some((u) => u.id === t.id)), false);
});

Deno.test("measured ratios become DONE tests with the number; the report still validates", () => {
  const withRatio: RunSummary = {
    ...smokeRun,
    tests: [{
      suite: "throughput@pmem",
      name: "mmap sequential+random",
      status: "pass",
      durationMs: 61_000,
      findings: [],
      details: { seqReadRatio: 1.04, randWriteRatio: 0.67, seqReadMBps: 900 },
    }],
  };
  const r = toKcidb(withRatio, { ...opts, baseUrl: "file:///work/main/reports/n1" });
  assert.equal(errors(r), "");
  assert.deepEqual(r.tests.map((t) => [t.path, t.status, t.number?.value]), [
    ["famfs_lab.throughput.mmap_sequential_random", "PASS", undefined],
    ["famfs_lab.throughput.mmap_sequential_random.seqReadRatio", "DONE", 1.04],
    ["famfs_lab.throughput.mmap_sequential_random.randWriteRatio", "DONE", 0.67],
  ]);
});

Deno.test("statuses: a guest that never came up is ERROR, tests after a guest died are MISS", () => {
  const base = { findings: [], durationMs: 0 };
  assert.equal(kcidbStatus({ ...base, suite: "boot@cxl", name: "guest-ready", status: "fail", message: "x" }), "ERROR");
  assert.equal(
    kcidbStatus({ ...base, suite: "smoke@cxl", name: "a", status: "fail", message: "guest hung earlier in the run" }),
    "MISS",
  );
  assert.equal(kcidbStatus({ ...base, suite: "smoke@cxl", name: "a", status: "skip" }), "SKIP");
});

Deno.test("the schema is a real check: bad statuses, ids, origins and extra fields are refused", () => {
  const r = toKcidb(smokeRun, opts);
  const bad = (f: (x: KcidbReport) => void) => {
    const copy = structuredClone(r);
    f(copy);
    return errors(copy);
  };
  assert.match(bad((x) => (x.tests[0] as { status: string }).status = "OK"), /allowed values/);
  assert.match(bad((x) => x.tests[0].id = "no-origin-prefix"), /pattern/);
  assert.match(bad((x) => (x.version as { major: number }).major = 5), /constant/);
  assert.match(bad((x) => Object.assign(x.builds[0], { verdict: "ok" })), /additional properties/);
  assert.match(bad((x) => x.tests[0].log_url = "not a url"), /format "uri"/);
  assert.throws(() => toKcidb(smokeRun, { ...opts, origin: "Famfs-Lab" }), KcidbError);
  assert.throws(() => toKcidb(smokeRun, { ...opts, baseUrl: "reports/x" }), KcidbError);
});
