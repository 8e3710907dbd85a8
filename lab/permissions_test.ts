import assert from "node:assert/strict";
import { LAB_CLI, LAB_PERMISSIONS, REPO_DIR } from "./cache.ts";

const tasks = (JSON.parse(Deno.readTextFileSync(`${REPO_DIR}/deno.json`)) as { tasks: Record<string, string> }).tasks;

/** Every `deno run|test` invocation in a task line, as its flags. */
function denoInvocations(line: string): string[][] {
  return line.split("&&").map((c) => c.trim().split(/\s+/)).filter((w) => /(^|\/)deno$/.test(w[0]))
    .map((w) => w.slice(2).filter((a) => a.startsWith("-")));
}

Deno.test("every deno task names its permissions and never prompts", () => {
  for (const [name, line] of Object.entries(tasks)) {
    const runs = denoInvocations(line);
    assert.ok(runs.length > 0, `task ${name} runs deno`);
    for (const flags of runs) {
      assert.ok(flags.includes("--no-prompt"), `task ${name}: --no-prompt`);
      assert.ok(!flags.some((f) => f === "-A" || f === "--allow-all"), `task ${name}: no --allow-all`);
    }
  }
});

Deno.test("the lab's tasks and the CLI the tests spawn have the same permissions", () => {
  for (const name of ["lab", "main", "test"]) assert.deepEqual(denoInvocations(tasks[name])[0], LAB_PERMISSIONS, name);
  assert.deepEqual(LAB_CLI.slice(1, -1), LAB_PERMISSIONS);
});

Deno.test("under the lab's permissions ssh2 takes its pure-JS crypto without asking for FFI", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...LAB_PERMISSIONS, "-"],
    cwd: REPO_DIR,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(
    `import { createRequire } from "node:module";
     console.log(createRequire(import.meta.url)("ssh2/lib/protocol/crypto.js").bindingAvailable);`,
  ));
  await w.close();
  const out = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, text(out.stderr));
  assert.equal(text(out.stdout).trim(), "false");
  assert.doesNotMatch(text(out.stderr), /requests ffi/);
});
