import assert from "node:assert/strict";
import { scanConsole } from "./kmsg.ts";
import { normalizeLine, reportTitle } from "./kmsg_title.ts";

const titles = async (file: string) =>
  scanConsole(await Deno.readTextFile(new URL(`testdata/console/${file}`, import.meta.url))).map(reportTitle);

Deno.test("titles of the captured lkdtm reports name the function, not the pid, CPU, line or offset", async () => {
  assert.deepEqual(await titles("lkdtm-warn-bug-exception.log"), [
    "WARNING in lkdtm_WARNING",
    "kernel BUG in lkdtm_BUG",
    "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION",
    "WARNING in lkdtm_WARNING_MESSAGE",
  ]);
  assert.deepEqual(await titles("sysrq-crash.log"), ["Kernel panic - not syncing: sysrq triggered crash"]);
  assert.deepEqual(await titles("lkdtm-panic-notime.log"), ["Kernel panic - not syncing: dumptest"]);
});

Deno.test("repeats of one report (hung task every 3 s, RCU stall on either CPU) share one title", async () => {
  assert.deepEqual(new Set(await titles("lkdtm-hung-task.log")), new Set(["INFO: task hung in lkdtm_HUNG_TASK"]));
  assert.deepEqual(
    new Set(await titles("lkdtm-softlockup-rcu-stall.log")),
    new Set(["INFO: rcu detected stall in lkdtm_SOFTLOCKUP"]),
  );
});

Deno.test("debug-flavour reports: KASAN keeps its access kind, kmemleak names the allocating caller", async () => {
  assert.deepEqual(await titles("debug-flavour.synthetic.log"), [
    "BUG: KASAN: slab-out-of-bounds in fuse_dax_read_iter",
    "WARNING: possible circular locking dependency detected",
    "BUG: sleeping function called from invalid context",
    "kmemleak: N new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
    "memory leak in fuse_famfs_get_fmap",
    "BUG: soft lockup in lkdtm_SOFTLOCKUP",
  ]);
});

Deno.test("the same line from two runs normalizes to one string", () => {
  // First lines as printed in lkdtm-warn-bug-exception.log and with another CPU/pid/line.
  assert.equal(
    normalizeLine("WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING+0xc/0xf, CPU#1: init.sh/1"),
    normalizeLine("WARNING: drivers/misc/lkdtm/bugs.c:170 at lkdtm_WARNING+0x10/0x13, CPU#0: sh/77"),
  );
  assert.equal(
    normalizeLine("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [famfs:96]"),
    "watchdog: BUG: soft lockup - CPU stuck for Ns! [famfs]",
  );
  assert.equal(
    normalizeLine("unreferenced object 0xffff888003b2e480 (size 64):"),
    "unreferenced object ADDR (size 64):",
  );
  assert.equal(
    normalizeLine("INFO: task sh:52 blocked for more than 9 seconds."),
    normalizeLine("INFO: task sh:60 blocked for more than 3 seconds."),
  );
});
