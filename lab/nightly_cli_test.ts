// The nightly commands through the CLI, as CI runs them: exit codes and one-line errors.
import assert from "node:assert/strict";
import { LAB_CLI } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";
import { runMatrix, type ShardRecord } from "./shard.ts";

const smokeRun = JSON.parse(
  await Deno.readTextFile(new URL("./report/testdata/smoke-run.summary.json", import.meta.url)),
) as RunSummary;

async function lab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args: [...LAB_CLI, ...args], stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function reportFolder(dir: string, s: RunSummary, record: ShardRecord): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/summary.json`, JSON.stringify(s));
  await Deno.writeTextFile(`${dir}/shard.json`, JSON.stringify(record));
}

Deno.test("report merge refuses shards of two lab versions with one line and exit 2", async () => {
  const root = await Deno.makeTempDir({ prefix: "famfs-lab-cli-" });
  try {
    const matrix = runMatrix(["default"], ["smoke", "teardown"]);
    const key = { kernel: smokeRun.kernel, lab: "2388b1b", matrix };
    await reportFolder(`${root}/a`, smokeRun, { key, shard: { index: 1, count: 2 }, cells: [matrix[0]] });
    await reportFolder(`${root}/b`, smokeRun, {
      key: { ...key, lab: "66b8143" },
      shard: { index: 2, count: 2 },
      cells: [matrix[1]],
    });
    const r = await lab("report", "merge", `${root}/a`, `${root}/b`);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `lab: report merge: ${root}/b was run by lab 66b8143, ${root}/a by lab 2388b1b; merge shards of one lab version\n`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("history add exits 1 on a regression against the previous night; report kcidb writes kcidb.json", async () => {
  const root = await Deno.makeTempDir({ prefix: "famfs-lab-cli-" });
  try {
    const key = { kernel: smokeRun.kernel, lab: "2388b1b", matrix: runMatrix(["default"], ["smoke"]) };
    const record = { key, shard: { index: 1, count: 1 }, cells: key.matrix };
    const worse = {
      ...smokeRun,
      runId: "smoke2",
      startedAt: "2026-11-25T16:22:40.144Z",
      tests: smokeRun.tests.map((t) => t.name === "fuse-available" ? { ...t, status: "fail" as const } : t),
    };
    await reportFolder(`${root}/r1`, smokeRun, record);
    await reportFolder(`${root}/r2`, worse, record);
    const first = await lab("history", "add", `${root}/r1`, "--history", `${root}/h`);
    assert.equal(first.code, 0, first.stderr);
    const second = await lab("history", "add", `${root}/r2`, "--history", `${root}/h`);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /regression: smoke@default\/fuse-available: pass -> fail \(since smoke1\)/);
    assert.equal(second.stdout, `${root}/h/index.html\n`);
    const k = await lab("report", "kcidb", `${root}/r2`, "--base-url", "https://ci.example.org/n/smoke2");
    assert.equal(k.code, 0, k.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${root}/r2/kcidb.json`));
    assert.equal(report.tests[2].status, "FAIL");
    assert.equal(report.checkouts[0].misc.lab, "2388b1b");
    const bad = await lab("report", "kcidb", `${root}/r2`, "--origin", "Bad-Origin");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^lab: --origin Bad-Origin: a KCIDB origin is lower-case letters, digits and _ only\n$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
