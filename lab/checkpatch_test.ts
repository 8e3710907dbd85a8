import assert from "node:assert/strict";
import { checkpatchCounts, parseCheckpatch, runCheckpatch } from "./checkpatch.ts";
import { cacheDir, exists } from "./cache.ts";

const captured = (name: string) => Deno.readTextFile(new URL(`testdata/checkpatch/${name}`, import.meta.url));

Deno.test("a badly styled patch: every ERROR/WARNING/CHECK counted, with its file and line when given", async () => {
  const r = parseCheckpatch(await captured("bad-style.out"));
  assert.deepEqual([r.errors, r.warnings, r.checks, r.lines], [6, 5, 3, 15]);
  assert.equal(r.items.filter((i) => i.level === "ERROR").length, r.errors);
  assert.equal(r.items.filter((i) => i.level === "WARNING").length, r.warnings);
  assert.equal(r.items.filter((i) => i.level === "CHECK").length, r.checks);
  assert.deepEqual(r.items.find((i) => i.message === "trailing whitespace"), {
    level: "ERROR",
    message: "trailing whitespace",
    where: "fs/fuse/inode.c:34",
  });
  assert.deepEqual(r.items.at(-1), { level: "ERROR", message: "Missing Signed-off-by: line(s)" });
  assert.equal(checkpatchCounts(r), "6 errors, 5 warnings, 3 checks");
});

Deno.test("clean patches (a reference patch, a mutant) count zero of everything", async () => {
  for (const f of ["ref-0003-clean.out", "mutant-skip-nodev-check.out"]) {
    const r = parseCheckpatch(await captured(f));
    assert.deepEqual([r.errors, r.warnings, r.checks, r.items.length], [0, 0, 0, 0], f);
  }
  assert.equal(parseCheckpatch(await captured("ref-0003-clean.out")).lines, 414);
});

Deno.test("output without a total line is an error, not zero findings", () => {
  assert.throws(() => parseCheckpatch("Can't open foo.patch\n"), /no "total:" line/);
});

Deno.test("runCheckpatch on the unpacked Debian tree agrees with the capture", async () => {
  const src = `${cacheDir()}/src`;
  const tree = await exists(src) ? [...Deno.readDirSync(src)].find((e) => e.isDirectory)?.name : undefined;
  if (!tree) return; // no kernel source unpacked on this machine yet
  const patch = await Deno.readTextFile(new URL("testdata/checkpatch/bad-style.patch", import.meta.url));
  const r = await runCheckpatch(`${src}/${tree}`, patch);
  assert.equal(checkpatchCounts(r), "6 errors, 5 warnings, 3 checks");
});
