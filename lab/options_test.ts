import assert from "node:assert/strict";
import { checkChoices, type Choices, DEFAULT_SERIES, parseOptions, UsageError } from "./options.ts";

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
    profile: undefined,
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
    profile: undefined,
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
    /: --flavour fast: unknown; choices: base, debug$/,
  );
  assert.throws(
    () => parseOptions(["run", "--bogus"]),
    (e) => e instanceof UsageError && /^--bogus: unknown option; options: .*--topology.*--profile/.test(e.message),
  );
});

Deno.test("--profile and --accel take one of their choices; a prebuilt --kernel needs --profile", () => {
  assert.equal(parseOptions(["run", "--profile", "v3"]).kernel.profile, "v3");
  assert.equal(parseOptions(["exec", "--kernel", "bz", "--profile", "none"]).kernel.profile, "none");
  assert.equal(parseOptions(["run", "--accel", "tcg"]).accel, "tcg");
  assert.equal(parseOptions(["run"]).accel, undefined);
  assert.throws(
    () => parseOptions(["run", "--profile", "v10"]),
    /: --profile v10: unknown; choices: rfc-v2, v3, ref, none$/,
  );
  assert.throws(() => parseOptions(["run", "--accel", "hvf"]), /: --accel hvf: unknown; choices: kvm, tcg$/);
  assert.throws(
    () => parseOptions(["exec", "--kernel", "bz"]),
    /: --kernel bz: a prebuilt image needs --profile rfc-v2\|v3\|ref\|none/,
  );
});

const CHOICES: Choices = {
  suites: ["smoke", "teardown"],
  topologies: ["cxl", "default", "pmem"],
  series: ["ref"],
  mutants: ["leak-name"],
};

Deno.test("names that do not exist are refused in one line with the choices; paths pass through", () => {
  const bad = (argv: string[]) => {
    try {
      checkChoices(parseOptions(argv), CHOICES);
    } catch (e) {
      assert.ok(e instanceof UsageError);
      assert.ok(!e.message.includes("\n"), e.message);
      return e.message;
    }
    return "accepted";
  };
  assert.equal(
    bad(["run", "--suite", "smoke", "--suite", "nosuch"]),
    "--suite nosuch: unknown; choices: smoke, teardown",
  );
  assert.equal(
    bad(["run", "-t", "pmem,cx1"]),
    "--topology cx1: unknown; choices: cxl, default, pmem or a path to a .json file",
  );
  assert.equal(bad(["shell", "--mutant", "leak"]), "--mutant leak: unknown; choices: leak-name");
  assert.equal(
    bad(["kernel", "--series", "v9"]),
    "--series v9: unknown; choices: ref, none or a path to a folder of patches or an mbox",
  );
  assert.equal(bad(["run", "-t", "my/topo.json", "--series", "./v9.mbox", "--suite", "smoke"]), "accepted");
  assert.equal(bad(["kernel", "--series", "none"]), "accepted");
});

Deno.test("the main job covers pmem, CXL and two hosts; a single guest defaults to both kinds in one", () => {
  assert.equal(parseOptions(["run"]).topology, "pmem,cxl,multihost");
  assert.equal(parseOptions(["sensitivity"]).topology, "pmem,cxl");
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
