// The suite driver against a fake guest (no QEMU): command outputs are scripted, and the console
// the fake "prints" is a real captured one (lab/testdata/console/), replayed between markers.
import assert from "node:assert/strict";
import { notApplicable, type RunnerGuest, runOnGuest } from "./suite_runner.ts";
import type { TestResult } from "./report/result.ts";
import { GuestTimer } from "./timing/record.ts";
import {
  CONTRACTS,
  defineSuite,
  type ExecOptions,
  type ExecResult,
  type KernelFacts,
  must,
  onPeer,
  type Suite,
} from "../suites/contract/mod.ts";

const CAPTURE = new URL("./testdata/console/lkdtm-warn-bug-exception.log", import.meta.url);
const captured = Deno.readTextFileSync(CAPTURE);
/** The captured console from the start of test `warn_case` to its end (a WARNING block). */
const warnBlock = captured.slice(
  captured.indexOf("famfs-lab: test-begin warn_case"),
  captured.indexOf("famfs-lab: test-end warn_case"),
).split("\n").slice(1).join("\n");

const ref: KernelFacts = {
  description: "7.3.4 + ref",
  flavour: "base",
  famfs: { profile: "ref", how: "test", contract: CONTRACTS.ref },
};
const v3: KernelFacts = { ...ref, famfs: { profile: "v3", how: "test", contract: CONTRACTS.v3 } };
const stock: KernelFacts = { description: "7.3.4", flavour: "base", famfs: null };

/** A guest that answers commands from a script and prints captured console text at markers. */
class FakeGuest implements RunnerGuest {
  commands: string[] = [];
  replacedBy?: FakeGuest;
  #listeners: ((c: string) => void)[] = [];
  #clock = 10;
  constructor(
    readonly name: string,
    /** Console text printed after a test's begin marker, by test id. */
    readonly consoleDuring: Record<string, string> = {},
  ) {}
  facts = {
    topology: "pmem",
    declared: [{ id: "pm0", kind: "pmem" as const, driver: "device_dax" as const, sizeMiB: 1024 }],
    devices: [{ id: "pm0", kind: "pmem" as const, path: "/dev/dax0.0", bytes: 1 << 30, driver: "device_dax" as const }],
  };
  timeScale = 1;
  onConsole(f: (c: string) => void) {
    this.#listeners.push(f);
  }
  lost() {
    return null;
  }
  #print(text: string) {
    for (const f of this.#listeners) f(text);
  }
  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push(command);
    const marker = command.match(/^echo 'famfs-lab: (test-begin|test-end) (.*)' > \/dev\/kmsg$/);
    if (marker) {
      this.#clock += 0.01;
      this.#print(`[ ${this.#clock.toFixed(6)}] famfs-lab: ${marker[1]} ${marker[2]}\r\n`);
      if (marker[1] === "test-begin") this.#print(this.consoleDuring[marker[2]] ?? "");
      return Promise.resolve({ code: 0, signal: null, stdout: "", stderr: "" });
    }
    if (command === "sleep forever") {
      return new Promise((_, reject) => opts.signal?.addEventListener("abort", () => reject(new Error("stopped"))));
    }
    const code = command.startsWith("false") ? 1 : 0;
    return Promise.resolve({ code, signal: null, stdout: `${command}\n`, stderr: "" });
  }
  replace(): Promise<RunnerGuest> {
    this.replacedBy = new FakeGuest(`${this.name}'`);
    return Promise.resolve(this.replacedBy);
  }
}

async function run(guest: FakeGuest, suites: Suite[], kernel = ref, timer?: GuestTimer) {
  const results: TestResult[] = [];
  const o = { kernel, repo: "/repo", deno: "deno", markerWaitMs: 200, settleMs: 50, timer };
  await runOnGuest(guest, suites, o, (r) => {
    results.push(r);
    return Promise.resolve();
  });
  return results;
}

const brief = (rs: TestResult[]) => rs.map((r) => `${r.name}:${r.status}`);

Deno.test("runner: the fixture is set up once before the first test and torn down after the last, also after a failure", async () => {
  const events: string[] = [];
  const suite = defineSuite<{ n: number }>({
    name: "fx",
    description: "",
    needs: {},
    fixture: {
      setup: () => (events.push("setup"), Promise.resolve({ n: 7 })),
      teardown: (_ctx, s) => (events.push(`teardown ${s.n}`), Promise.resolve()),
    },
    tests: [
      { name: "a", run: (_c, s) => (events.push(`a ${s.n}`), Promise.resolve()) },
      { name: "b", run: async (ctx) => void await must(ctx, "false b") },
      { name: "c", run: (_c, s) => (events.push(`c ${s.n}`), Promise.resolve()) },
    ],
  });
  const rs = await run(new FakeGuest("g"), [suite]);
  assert.deepEqual(events, ["setup", "a 7", "c 7", "teardown 7"]);
  assert.deepEqual(brief(rs), ["a:pass", "b:fail", "c:pass"]);
  assert.match(rs[1].message!, /guest command failed \(exit 1\): false b/);
});

Deno.test("runner: a kernel report on the replayed console fails the test it appeared in, and only that one", async () => {
  const suite = defineSuite<void>({
    name: "s",
    description: "",
    needs: {},
    tests: [
      { name: "quiet", run: () => Promise.resolve() },
      { name: "warns", run: () => Promise.resolve() },
      { name: "provokes", expectFindings: true, run: () => Promise.resolve() },
    ],
  });
  const g = new FakeGuest("g", { "s/warns": warnBlock, "s/provokes": warnBlock });
  const rs = await run(g, [suite]);
  assert.deepEqual(brief(rs), ["quiet:pass", "warns:fail", "provokes:pass"]);
  assert.match(rs[1].message!, /kernel reported during the test: warning: WARNING: drivers\/misc\/lkdtm\/bugs.c:164/);
  assert.equal(rs[1].findings.length, 1);
});

Deno.test("runner: a test that runs out of time is stopped, the guest replaced and the fixture set up again", async () => {
  let setups = 0;
  const suite = defineSuite<number>({
    name: "slow",
    description: "",
    needs: {},
    fixture: { setup: () => Promise.resolve(++setups), teardown: () => Promise.resolve() },
    tests: [
      { name: "hangs", timeoutMs: 100, run: async (ctx) => void await ctx.exec("sleep forever") },
      { name: "after", run: async (ctx, n) => void await must(ctx, `echo fixture ${n}`) },
    ],
  });
  const g = new FakeGuest("g");
  const rs = await run(g, [suite]);
  assert.deepEqual(brief(rs), ["hangs:fail", "after:pass"]);
  assert.match(rs[0].message!, /timed out after 100 ms/);
  assert.ok(g.replacedBy, "the guest was replaced");
  assert.ok(g.replacedBy.commands.includes("echo fixture 2"), "the next test ran on the new guest, with a new fixture");
  assert.ok(!g.commands.includes("echo fixture 1"));
});

Deno.test("runner: a stopped test cannot drive the guest any more", async () => {
  let late: Promise<string> | undefined;
  const suite = defineSuite<void>({
    name: "s",
    description: "",
    needs: {},
    tests: [{
      name: "ignores-signal",
      timeoutMs: 50,
      run: (ctx) => {
        late = new Promise((r) => setTimeout(r, 120)).then(() => ctx.exec("echo late"))
          .then(() => "ran", (e: Error) => e.message);
        return new Promise(() => {});
      },
    }],
  });
  const g = new FakeGuest("g");
  await run(g, [suite]);
  assert.equal(await late, "test stopped: not running echo late");
  assert.ok(!g.commands.includes("echo late"));
});

Deno.test("runner: famfs suites are not applicable on a stock kernel; unmet test needs are skips with a reason", async () => {
  const famfs = defineSuite<void>({
    name: "famfs_x",
    description: "",
    needs: { famfs: true },
    tests: [{ name: "t", run: () => Promise.resolve() }],
  });
  const plain = defineSuite<void>({
    name: "plain",
    description: "",
    needs: {},
    tests: [{ name: "debug-only", needs: { flavour: "debug" }, run: () => Promise.resolve() }],
  });
  const g = new FakeGuest("g");
  const facts = { ...g.facts, findings: () => [] };
  assert.deepEqual(notApplicable([famfs, plain], stock, facts), [
    { suite: "famfs_x", reason: "the kernel has no famfs support" },
  ]);
  const rs = await run(g, [famfs, plain], stock);
  assert.deepEqual(brief(rs), ["debug-only:skip"]);
  assert.match(rs[0].skipReason!, /--flavour debug/);
});

Deno.test("runner: a deviation is one only where the kernel's profile contract allows it", async () => {
  const suite = defineSuite<void>({
    name: "d",
    description: "",
    needs: { famfs: true },
    tests: [{
      name: "daxdev-error",
      run: () =>
        Promise.resolve({ kind: "deviation", deviation: "daxdev-errors-at-io", observed: "open ok, read EIO" }),
    }],
  });
  assert.deepEqual(brief(await run(new FakeGuest("g"), [suite], v3)), ["daxdev-error:deviation"]);
  assert.deepEqual(brief(await run(new FakeGuest("g"), [suite], ref)), ["daxdev-error:fail"]);
});

Deno.test("runner: a peer host gets the test markers, runs the test's commands, and its kernel reports fail that test", async () => {
  const peer = new FakeGuest("b", { "mh/warns-on-b": warnBlock });
  const a = new FakeGuest("a");
  const guest: RunnerGuest = Object.assign(a, {
    facts: { ...a.facts, hosts: 2 },
    peers: [{
      host: "host-b",
      devices: peer.facts.devices,
      exec: (c: string, o?: ExecOptions) => peer.exec(c, o),
      onConsole: (f: (c: string) => void) => peer.onConsole(f),
    }],
  });
  const suite = defineSuite<void>({
    name: "mh",
    description: "",
    needs: { hosts: 2 },
    tests: [
      { name: "uses-b", run: async (ctx) => void await must(onPeer(ctx, ctx.peers[0]), "echo on-b") },
      { name: "warns-on-b", run: () => Promise.resolve() },
    ],
  });
  const rs = await run(a, [suite]);
  assert.equal(guest.peers?.length, 1);
  assert.deepEqual(brief(rs), ["uses-b:pass", "warns-on-b:fail"]);
  assert.ok(peer.commands.includes("echo on-b"), "the test's command ran on host B");
  assert.ok(!a.commands.includes("echo on-b"), "and not on host A");
  assert.ok(peer.commands.includes("echo 'famfs-lab: test-begin mh/uses-b' > /dev/kmsg"), "B got the markers");
  assert.match(rs[1].findings[0].firstLine, /^\[host-b\] WARNING:/);
  // On a single-host guest the same suite is a skip that says why.
  const single = await run(new FakeGuest("s"), [suite]);
  assert.deepEqual(brief(single), ["uses-b:skip", "warns-on-b:skip"]);
  assert.match(single[0].skipReason!, /needs 2 hosts sharing memory, topology pmem has 1/);
});

Deno.test("runner: the timer gets each test and teardown, with its markers and commands by category", async () => {
  const suite = defineSuite<void>({
    name: "tm",
    description: "",
    needs: {},
    fixture: { setup: () => Promise.resolve(), teardown: async (ctx) => void await ctx.exec("umount /mnt") },
    tests: [
      {
        name: "probes",
        run: async (ctx) => {
          await ctx.exec("deno run -A /repo/suites/lib/famfs_probe.ts 0; exit $?");
          await ctx.exec("deno run -A /repo/suites/lib/famfs_probe.ts 0; exit $?");
          await new Promise((r) => setTimeout(r, 30));
        },
      },
      { name: "fails", run: async (ctx) => void await must(ctx, "false x") },
    ],
  });
  const timer = new GuestTimer("pmem");
  await run(new FakeGuest("g"), [suite], ref, timer);
  const t = timer.timing.tests;
  assert.deepEqual(t.map((x) => `${x.suite}/${x.test}`), ["tm/probes", "tm/fails", "tm/fixture-teardown"]);
  assert.deepEqual(Object.keys(t[0].execs).sort(), ["deno-run", "marker"]);
  assert.equal(t[0].execs["deno-run"]!.count, 2);
  assert.equal(t[0].execs.marker!.count, 2);
  assert.ok(t[0].hostMs >= 25, `the 30 ms host-side wait is host time: ${t[0].hostMs}`);
  assert.equal(t[1].execs.shell!.count, 1);
  assert.equal(t[2].execs.shell!.count, 1);
});
