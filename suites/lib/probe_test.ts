import assert from "node:assert/strict";
import { seededBytes } from "../../src/famfs/seed.ts";
import { outcome, parseProbe } from "./probe.ts";
import type { ProbeOp } from "./probe_ops.ts";

const data = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));

/** The operations of the captures (testdata/README.md), on a file `dir`/f of 4096 bytes of seed 7. */
function ops(dir: string): ProbeOp[] {
  const f = `${dir}/f`;
  return [
    { op: "open", path: f, id: "f" },
    { op: "read", fd: "f", off: 0, len: 8192, expect: { seed: 7 } },
    { op: "open", path: `${dir}/missing` },
    { op: "write", path: f, off: 100, len: 10, byte: 0xa5 },
    { op: "read", path: f, off: 0, len: 4096, expect: { seed: 7 } },
    { op: "restore", path: f, off: 100, len: 10, seed: 7 },
    { op: "mmap", path: f, prot: "r", mapOff: 0, mapLen: 8192, off: 4096, len: 4096 },
    { op: "read", fd: "f", off: 0, len: 16, expect: { seed: 7 } },
    { op: "read", path: f, off: 0, len: 4096, expect: { seed: 7 } },
  ];
}

const BEFORE_FAULT = ["ok", "ok", "open:ENOENT", "ok", "mismatch@100", "ok", "access:SIGBUS"];

Deno.test("parseProbe: a SIGBUS death marks the access under way", () => {
  const p = parseProbe(data("probe_sigbus.stdout"), 135, null);
  assert.equal(p.faulted, 6);
  assert.deepEqual(p.results.map(outcome), BEFORE_FAULT);
  assert.deepEqual(p.results[6], { i: 6, op: "mmap", error: "SIGBUS", call: "access" });
  assert.equal(p.results[1].n, 4096, "read() stops at EOF");
});

Deno.test("parseProbe: without the death a begin line is no result", () => {
  assert.equal(parseProbe(data("probe_sigbus.stdout"), 0, null).faulted, undefined);
});

Deno.test("parseProbe: handles are gone after the restart", () => {
  const p = parseProbe(data("probe_restarted.stdout"), 0, null);
  assert.equal(p.faulted, undefined);
  assert.deepEqual(p.results.map(outcome), ["f:not-open", "ok"]);
});

Deno.test("famfs_probe.ts on a host file reproduces the captures", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/f`, seededBytes(7, 0, 4096));
    const run = async (first: number) => {
      const cmd = `"${Deno.execPath()}" run -A ${
        new URL("./famfs_probe.ts", import.meta.url).pathname
      } ${first}; exit $?`;
      const child = new Deno.Command("sh", { args: ["-c", cmd], stdin: "piped", stdout: "piped", stderr: "null" })
        .spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify(ops(dir))));
      await w.close();
      const out = await child.output();
      return { stdout: new TextDecoder().decode(out.stdout), code: out.code };
    };
    const first = await run(0);
    assert.equal(first.code, 135);
    assert.equal(first.stdout, data("probe_sigbus.stdout"));
    const second = await run(7);
    assert.equal(second.code, 0);
    assert.equal(second.stdout, data("probe_restarted.stdout"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
