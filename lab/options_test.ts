import assert from "node:assert/strict";
import { DEFAULT_SERIES, parseOptions, UsageError } from "./options.ts";

Deno.test("exec keeps everything after -- as the guest command", () => {
  const o = parseOptions(["exec", "-t", "pmem", "--", "ndctl", "list", "-N"]);
  assert.equal(o.command, "exec");
  assert.equal(o.topology, "pmem");
  assert.deepEqual(o.rest, ["ndctl", "list", "-N"]);
});

Deno.test("kernel options become a typed request; defaults are Debian source, base flavour", () => {
  assert.deepEqual(parseOptions(["kernel"]).kernel, {
    source: { kind: "debian" },
    flavour: "base",
    series: DEFAULT_SERIES,
    mutant: undefined,
    fragments: [],
  });
  const o = parseOptions([
    "kernel",
    "--kernel-src",
    "/src/linux",
    "--series",
    "/tmp/s.mbox",
    "--flavour",
    "debug",
    "--fragment",
    "a.config",
  ]);
  assert.deepEqual(o.kernel, {
    source: { kind: "tree", path: "/src/linux" },
    flavour: "debug",
    series: "/tmp/s.mbox",
    mutant: undefined,
    fragments: ["a.config"],
  });
  assert.equal(
    parseOptions(["kernel", "--series", "none"]).kernel.series,
    undefined,
  );
});

Deno.test("contradictory or unknown options are refused with the reason", () => {
  assert.throws(
    () => parseOptions(["run", "--kernel", "bz", "--series", "ref"]),
    (e) => e instanceof UsageError && /cannot be combined/.test(e.message),
  );
  assert.throws(
    () => parseOptions(["run", "--flavour", "fast"]),
    /--flavour fast: must be base or debug/,
  );
  assert.throws(
    () => parseOptions(["run", "--bogus"]),
    (e) => e instanceof UsageError,
  );
});

Deno.test("the main job covers the pmem and the CXL topology; a single guest defaults to both kinds in one", () => {
  assert.equal(parseOptions(["run"]).topology, "pmem,cxl");
  assert.equal(parseOptions(["shell"]).topology, "default");
  assert.equal(parseOptions(["run", "-t", "default"]).topology, "default");
});

Deno.test("--shard I/N becomes a typed spec; a bad one is a usage error naming it", () => {
  assert.deepEqual(parseOptions(["run", "--shard", "2/3"]).shard, { index: 2, count: 3 });
  assert.equal(parseOptions(["run"]).shard, undefined);
  assert.throws(
    () => parseOptions(["run", "--shard", "4/3"]),
    (e: Error) => e instanceof UsageError && /4\/3/.test(e.message),
  );
});
