// The categories of the commands the suites' own helpers send (built by the real helpers against
// a guest that answers like a real one), so a change to a helper's command shows up here.
import assert from "node:assert/strict";
import { execCategory } from "./category.ts";
import { CONTRACTS, type ExecResult, type SuiteContext } from "../../suites/contract/mod.ts";
import { killDaemon, startDaemon, stopDaemon } from "../../suites/lib/daemon.ts";
import { startProbe, waitProbe } from "../../suites/lib/probe.ts";
import { GUEST_DENO } from "../run.ts";
import { REPO_DIR } from "../cache.ts";

/** Records every command; answers the daemon start, mountinfo and probe-output reads as a guest does. */
function recordingContext(): { ctx: SuiteContext; sent: string[] } {
  const sent: string[] = [];
  const answer = (command: string): ExecResult => {
    const ok = (stdout: string) => ({ code: 0, signal: null, stdout, stderr: "" });
    if (command.includes("famfs: ready")) return ok("ready 4242\n");
    if (command.includes("/proc/self/mountinfo")) return ok("0:45\n");
    if (command.startsWith("grep -q ")) return { code: 1, signal: null, stdout: "", stderr: "" };
    if (command.startsWith("cat /run/lab/probe.out")) return ok("exit 0\n");
    return ok("");
  };
  const ctx: SuiteContext = {
    exec: (command) => (sent.push(command), Promise.resolve(answer(command))),
    guest: { topology: "pmem", declared: [], devices: [], findings: () => [] },
    peers: [],
    kernel: { description: "ref", flavour: "base", famfs: { profile: "ref", how: "test", contract: CONTRACTS.ref } },
    repo: REPO_DIR,
    deno: GUEST_DENO,
    signal: new AbortController().signal,
    record: () => {},
  };
  return { ctx, sent };
}

Deno.test("execCategory: a daemon's start, clean stop and kill, from the suites' daemon helpers", async () => {
  const { ctx, sent } = recordingContext();
  const d = await startDaemon(ctx, "/dev/dax0.0", "/mnt/famfs", { scenario: [] });
  assert.deepEqual(sent.map(execCategory), ["shell", "daemon-start"], sent.join("\n"));
  sent.length = 0;
  await stopDaemon(ctx, d);
  assert.deepEqual(sent.map(execCategory), ["daemon-stop", "daemon-stop", "shell"], sent.join("\n"));
  sent.length = 0;
  await killDaemon(ctx, d);
  assert.deepEqual(sent.map(execCategory), ["shell", "daemon-stop", "daemon-stop", "shell"], sent.join("\n"));
});

Deno.test("execCategory: a background probe is a deno run; reading its output is shell work", async () => {
  const { ctx, sent } = recordingContext();
  await startProbe(ctx, [], "/run/lab/probe.out");
  await waitProbe(ctx, "/run/lab/probe.out", 1000);
  assert.deepEqual(sent.map(execCategory), ["shell", "deno-run", "shell"], sent.join("\n"));
});

Deno.test("execCategory: markers, fixed waits and poll loops, a FUSE abort", () => {
  assert.equal(execCategory("echo 'famfs-lab: test-begin teardown/mount-unmount-cycles' > /dev/kmsg"), "marker");
  assert.equal(execCategory("echo 'famfs-lab: hello' > /dev/kmsg"), "shell");
  assert.equal(execCategory("sleep 6; echo scan > /sys/kernel/debug/kmemleak; sleep 6; cat x"), "wait");
  assert.equal(execCategory("for i in $(seq 50); do test -e /x && break; sleep 0.1; done"), "wait");
  assert.equal(execCategory("echo 1 > /sys/fs/fuse/connections/45/abort"), "daemon-stop");
  assert.equal(execCategory("timeout 60 dd if=/mnt/a bs=65536 count=1 status=none | sha256sum"), "shell");
});
