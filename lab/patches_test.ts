import assert from "node:assert/strict";
import { baseCommit, findHunk, parseGitApplyError, readSeries, SeriesError, splitMbox } from "./patches.ts";

const dir = new URL("./testdata/patches/", import.meta.url).pathname;
const patchName = "0001-fuse-annotate-passthrough-option.patch";
const patchText = Deno.readTextFileSync(dir + patchName);

Deno.test("splitMbox: a single format-patch file is one patch with its subject", () => {
  const [p, ...rest] = splitMbox(patchText, patchName);
  assert.equal(rest.length, 0);
  assert.equal(p.name, patchName);
  assert.equal(p.subject, "[PATCH] fuse: annotate passthrough option");
});

Deno.test("splitMbox: an mbox of two patches splits in order with numbered names", () => {
  const ps = splitMbox(
    Deno.readTextFileSync(dir + "two-patches.mbox"),
    "two-patches.mbox",
  );
  assert.deepEqual(ps.map((p) => p.name), [
    "two-patches.mbox#1",
    "two-patches.mbox#2",
  ]);
  assert.match(ps[0].subject, /annotate passthrough option/);
  assert.match(ps[1].subject, /annotate dax option/);
  assert.ok(ps.every((p) => p.text.includes("diff --git a/fs/fuse/Kconfig")));
});

Deno.test("splitMbox: a cover letter is not a patch; its base-commit line is read", () => {
  const text = Deno.readTextFileSync(dir + "cover-letter.mbox");
  const ps = splitMbox(text, "cover-letter.mbox");
  assert.deepEqual(ps.map((p) => [p.name, p.subject]), [
    ["cover-letter.mbox#1", "[PATCH 1/2] fuse: note dax in Kconfig"],
    ["cover-letter.mbox#2", "[PATCH 2/2] fuse: note passthrough in Kconfig"],
  ]);
  assert.equal(baseCommit(text), "11174a180f384021cac9e85dc2d75e72982a0d1f");
  assert.equal(baseCommit(Deno.readTextFileSync(dir + "two-patches.mbox")), null);
});

Deno.test("splitMbox: text without a diff is not a patch", () => {
  assert.deepEqual(splitMbox("Subject: hello\n\njust mail\n", "x"), []);
});

Deno.test("parseGitApplyError: context mismatch names patch, file, line and the failing hunk", () => {
  const stderr = Deno.readTextFileSync(dir + "0001-context-mismatch.stderr");
  const e = parseGitApplyError({
    name: patchName,
    subject: "",
    text: patchText,
  }, stderr);
  assert.equal(e.patch, patchName);
  assert.equal(e.file, "fs/fuse/Kconfig");
  assert.equal(e.line, 55);
  assert.match(e.hunk!, /^@@ -55,6 \+55,7 @@ config FUSE_DAX/);
  assert.match(e.hunk!, /\+\t# lab test line/);
  assert.match(
    e.message,
    /patch 0001-fuse-annotate-passthrough-option.patch does not apply: fs\/fuse\/Kconfig at line 55/,
  );
  assert.match(e.message, /--kernel-src/);
});

Deno.test("parseGitApplyError: a missing file names the file and keeps git's words", () => {
  const stderr = Deno.readTextFileSync(dir + "0001-missing-file.stderr");
  const e = parseGitApplyError({
    name: patchName,
    subject: "",
    text: patchText,
  }, stderr);
  assert.equal(e.file, "fs/fuse/Kconfig");
  assert.equal(e.line, null);
  assert.match(e.message, /No such file or directory/);
});

Deno.test("findHunk: a line inside a hunk's old range finds it; other files do not", () => {
  assert.match(findHunk(patchText, "fs/fuse/Kconfig", 57)!, /^@@ -55,6/);
  assert.equal(findHunk(patchText, "fs/fuse/file.c", 55), null);
});

const seriesDir = new URL("../vm-images/series/", import.meta.url).pathname;
const testSeries = new URL("./testdata/series/", import.meta.url).pathname;

Deno.test("readSeries: a series with a base file is the base's patches, then its own", async () => {
  const ref = await readSeries(seriesDir + "ref");
  const v3 = await readSeries(seriesDir + "v3");
  const own = [...Deno.readDirSync(seriesDir + "v3")].filter((e) => e.name.endsWith(".patch")).length;
  assert.ok(own > 0);
  assert.equal(v3.length, ref.length + own);
  assert.deepEqual(v3.slice(0, ref.length).map((p) => p.name), ref.map((p) => `ref/${p.name}`));
  assert.deepEqual(v3.slice(0, ref.length).map((p) => p.text), ref.map((p) => p.text));
  assert.match(v3[ref.length].name, /^0007-/);
});

Deno.test("readSeries: base files that form a cycle are refused, naming the chain", async () => {
  await assert.rejects(readSeries(testSeries + "cycle-a"), (e: unknown) => {
    assert.ok(e instanceof SeriesError);
    assert.match(e.message, /cycle: .*cycle-a -> .*cycle-b -> .*cycle-a/);
    return true;
  });
});

Deno.test("readSeries: an empty base file is refused with the fix", async () => {
  await assert.rejects(readSeries(testSeries + "empty-base"), /base file is empty: write the base series' name/);
});
