import assert from "node:assert/strict";
import { baseCommit, findHunk, parseGitApplyError, splitMbox } from "./patches.ts";
import { seriesProfile } from "./run.ts";

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

Deno.test("a series names its famfs protocol profile in a profile file; no file means a stock kernel", async () => {
  assert.equal(await seriesProfile("ref"), "ref");
  assert.equal(await seriesProfile(new URL("../vm-images/series/ref", import.meta.url).pathname), "ref");
  assert.equal(await seriesProfile(undefined), null);
  assert.equal(await seriesProfile(new URL("./testdata/patches", import.meta.url).pathname), null);
});
