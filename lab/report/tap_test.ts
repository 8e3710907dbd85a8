import assert from "node:assert/strict";
import { sample } from "./testdata/results.ts";
import { failureMessage, renderTap } from "./tap.ts";

Deno.test("renderTap: plan, test points, SKIP directive, escaped '#'", () => {
  const lines = renderTap(sample).split("\n");
  assert.equal(lines[0], "TAP version 13");
  assert.equal(lines[1], "1..4");
  assert.equal(lines[2], "ok 1 - mount");
  assert.equal(lines[3], "not ok 2 - write_past_eof");
  assert.ok(lines.includes("ok 3 - cxl \\# region # SKIP topology has no CXL"));
  assert.ok(lines.includes("not ok 4 - read back"));
});

Deno.test("renderTap: YAML diagnostics carry the message and the findings' first lines", () => {
  const tap = renderTap(sample);
  const block = tap.slice(tap.indexOf("not ok 2"), tap.indexOf("ok 3"));
  assert.equal(
    block,
    [
      "not ok 2 - write_past_eof",
      "  ---",
      '  message: "kernel warning: WARNING: CPU: 1 PID: 73 at fs/fuse/file.c:123 fuse_perform_write+0x1f/0x40"',
      "  severity: fail",
      "  duration_ms: 88",
      "  findings:",
      '    - kind: "warning"',
      '      first_line: "WARNING: CPU: 1 PID: 73 at fs/fuse/file.c:123 fuse_perform_write+0x1f/0x40"',
      "      uptime: 12.345678",
      "  ...",
      "",
    ].join("\n"),
  );
  // A multi-line message stays one YAML line (JSON escapes are YAML double-quoted escapes).
  assert.ok(
    tap.includes('\n  message: "expected \\"abc\\"\\ngot \\"abd\\""\n'),
  );
  assert.ok(tap.includes('\n  details: {"file":"/mnt/famfs/a","size":3}\n'));
});

Deno.test("renderTap: an empty suite is a valid plan of zero", () => {
  assert.equal(renderTap([]), "TAP version 13\n1..0\n");
});

Deno.test("failureMessage prefers the test's own message", () => {
  assert.equal(failureMessage(sample[3]), 'expected "abc"\ngot "abd"');
  assert.equal(failureMessage(sample[0]), undefined);
});
