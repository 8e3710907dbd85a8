import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";

/** Runs the lab CLI as `deno task lab` does; nothing here gets as far as a build or a guest. */
async function lab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...LAB_CLI, ...args],
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const MISTAKES: { args: string[]; line: RegExp }[] = [
  { args: ["run", "--suite", "nosuch"], line: /^lab: --suite nosuch: unknown; choices: smoke, .*get_daxdev/ },
  { args: ["exec", "-t", "nosuch", "--", "true"], line: /^lab: --topology nosuch: unknown; choices: .*pmem/ },
  { args: ["shell", "--mutant", "nosuch"], line: /^lab: --mutant nosuch: unknown; choices: .*leak-name/ },
  { args: ["kernel", "--series", "nosuch"], line: /^lab: --series nosuch: unknown; choices: ref.*none/ },
  { args: ["kernel", "--profile", "v10"], line: /^lab: --profile v10: unknown; choices: rfc-v2, v3, ref, none$/ },
  { args: ["kernel", "--flavour", "fast"], line: /^lab: --flavour fast: unknown; choices: base, debug$/ },
  { args: ["kernel", "--fragment", "nosuch.config"], line: /^lab: --fragment \/.*\/nosuch.config: cannot read it/ },
  { args: ["sensitivity", "--dry-run"], line: /^lab: --dry-run: only run, exec and shell have one; sensitivity would/ },
  { args: ["run", "--accel", "hvf"], line: /^lab: --accel hvf: unknown; choices: kvm, tcg$/ },
  { args: ["exec", "--kernel", "bzImage", "--", "true"], line: /^lab: --kernel bzImage: .*needs --profile/ },
  { args: ["run", "--sute", "smoke"], line: /^lab: --sute: unknown option; options: / },
  { args: ["frob"], line: /^lab: frob: unknown command; commands: run, / },
];

for (const m of MISTAKES) {
  Deno.test(`lab ${m.args.join(" ")}: one line naming the mistake, exit 2`, async () => {
    const r = await lab(...m.args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], m.line);
  });
}

Deno.test("lab run --dry-run prints one QEMU command line per topology of the main job", async () => {
  const r = await lab("run", "--dry-run", "--accel", "tcg");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^qemu-system-x86_64 .*-accel tcg .*reports\/<run-id>\/pmem\/console\.log/);
  assert.match(lines[1], /cxl-type3/);
  // multihost: two guests, each with its own folder, on one shared backing file.
  assert.match(lines[2], /reports\/<run-id>\/multihost\/host-a\/console\.log/);
  assert.match(lines[3], /reports\/<run-id>\/multihost\/host-b\/console\.log/);
  const backing = (l: string) => l.match(/mem-path=(\S+)\/\.\.\/pmem0-shared\.img/)?.[1].replace(/host-.$/, "");
  assert.ok(backing(lines[2]));
  assert.equal(backing(lines[3]), backing(lines[2]));
});
