// Integration: sharding as CI runs it. Two `lab run --shard I/2` processes (smoke on the pmem and
// the CXL guest), merged with `lab report merge`, give the unsharded run's results.
import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";
import type { RunSummary } from "./report/summary.ts";
import type { ShardRecord } from "./shard.ts";

async function lab(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args: [...LAB_CLI, ...args], stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const read = async <T>(path: string) => JSON.parse(await Deno.readTextFile(path)) as T;
const verdicts = (s: RunSummary) => s.tests.map((t) => `${t.suite}/${t.name}=${t.status}`);

Deno.test({
  name: "two shards as separate processes, merged, equal the unsharded run (smoke on pmem and CXL)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const id = `tests/shard-${Date.now()}`;
    const run = ["run", "--suite", "smoke", "-t", "pmem,cxl"];
    for (const shard of ["1/2", "2/2"]) {
      const r = await lab(...run, "--shard", shard, "--run-id", `${id}-shard-${shard[0]}`);
      assert.ok(r.code <= 1, r.stderr.slice(-3000));
    }
    const whole = await lab(...run, "--run-id", `${id}-whole`);
    assert.ok(whole.code <= 1, whole.stderr.slice(-3000));

    const shards = await Promise.all(
      [1, 2].map((i) => read<ShardRecord>(`${REPO_DIR}/reports/${id}-shard-${i}/shard.json`)),
    );
    // One guest each; which goes first depends on the durations of the last complete run.
    assert.deepEqual(shards.map((s) => s.cells.map((c) => `${c.suite}@${c.guest}`)).flat().sort(), [
      "smoke@cxl",
      "smoke@pmem",
    ]);
    assert.deepEqual(shards.map((s) => s.cells.length), [1, 1]);
    assert.deepEqual(shards[0].key, shards[1].key);
    for (const i of [1, 2]) {
      for (const f of await Array.fromAsync(Deno.readDir(`${REPO_DIR}/reports/${id}-shard-${i}`))) {
        if (!f.isDirectory) continue;
        for (const key of ["id_ed25519", "ssh_host_ed25519_key"]) {
          const left = await Deno.stat(`${REPO_DIR}/reports/${id}-shard-${i}/${f.name}/${key}`).then(
            () => true,
            () => false,
          );
          assert.equal(left, false, `no private key left in shard ${i}'s ${f.name} folder`);
        }
      }
    }

    const merged = await lab(
      "report",
      "merge",
      `${REPO_DIR}/reports/${id}-shard-1`,
      `${REPO_DIR}/reports/${id}-shard-2`,
    );
    assert.equal(merged.code, 0, merged.stderr);
    const m = await read<RunSummary>(`${REPO_DIR}/reports/${id}/summary.json`);
    const w = await read<RunSummary>(`${REPO_DIR}/reports/${id}-whole/summary.json`);
    assert.deepEqual(verdicts(m), verdicts(w));
    assert.deepEqual(m.counts, w.counts);
    assert.ok(w.counts.passed >= 8, `smoke ran on both guests: ${JSON.stringify(w.counts)}`);
    for (
      const f of ["index.html", "junit.xml", "smoke_pmem.tap", "smoke_cxl.tap", "pmem/console.log", "cxl/repro.sh"]
    ) {
      await Deno.stat(`${REPO_DIR}/reports/${id}/${f}`);
    }
  },
});
