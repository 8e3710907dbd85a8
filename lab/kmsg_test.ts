import assert from "node:assert/strict";
import {
  classifyLine,
  ConsoleWatch,
  type Finding,
  type Marker,
  parseMarker,
  scanConsole,
  stripTimestamp,
} from "./kmsg.ts";

const DIR = new URL("./testdata/console/", import.meta.url);
function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, DIR));
}
function summary(fs: Finding[]): Array<[string, string | null, string]> {
  return fs.map((f) => [f.kind, f.test, f.end]);
}

Deno.test("stripTimestamp: with and without the printk prefix", () => {
  assert.deepEqual(stripTimestamp("[   12.345678] hello"), {
    text: "hello",
    uptime: 12.345678,
  });
  assert.deepEqual(stripTimestamp("[ 1.5][    T1] x"), {
    text: "x",
    uptime: 1.5,
  });
  assert.deepEqual(stripTimestamp("hello [1.0]"), {
    text: "hello [1.0]",
    uptime: null,
  });
});

Deno.test("parseMarker: lab markers with or without timestamp", () => {
  assert.deepEqual(parseMarker("[    3.1] famfs-lab: test-begin warn_case"), {
    type: "test-begin",
    name: "warn_case",
  });
  assert.deepEqual(parseMarker("famfs-lab: test-end warn_case\r"), {
    type: "test-end",
    name: "warn_case",
  });
  assert.deepEqual<Marker | null>(parseMarker("famfs-lab: ready 2.84"), {
    type: "ready",
    uptime: 2.84,
  });
  assert.deepEqual<Marker | null>(
    parseMarker("[ 9.0] famfs-lab: heartbeat 12.50"),
    {
      type: "heartbeat",
      uptime: 12.5,
    },
  );
  assert.equal(parseMarker("famfs-lab: ready soon"), null);
  assert.equal(parseMarker("echo famfs-lab: test-begin x"), null);
});

// First lines exactly as the captured guests printed them (see testdata/console/README.md).
const REAL_FIRST_LINES: Array<[string, string]> = [
  [
    "[    3.463560] WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING+0xc/0xf, CPU#1: init.sh/1",
    "warning",
  ],
  ["[    3.526951] kernel BUG at drivers/misc/lkdtm/bugs.c:132!", "bug"],
  ["[    3.527527] Oops: invalid opcode: 0000 [#1] SMP", "oops"],
  [
    "[    3.598207] BUG: kernel NULL pointer dereference, address: 0000000000000000",
    "oops",
  ],
  ["[    3.600733] Oops: Oops: 0002 [#2] SMP", "oops"],
  ["[    3.113225] Kernel panic - not syncing: sysrq triggered crash", "panic"],
  ["Kernel panic - not syncing: dumptest", "panic"],
  [
    "[    7.244283] INFO: task sh:52 blocked for more than 3 seconds.",
    "hung-task",
  ],
  [
    "[    7.100363] rcu: INFO: rcu_sched self-detected stall on CPU",
    "rcu-stall",
  ],
];

// Lines from the same captures that look alarming but are not reports.
const REAL_NOISE = [
  "[    4.747929] INFO: NMI handler (nmi_cpu_backtrace_handler) took too long to run: 8.329 msecs",
  "[    3.990990] clocksource: Watchdog remote CPU 1 read timed out",
  "[    3.619782] Warning message trigger count: 3",
  "[    3.462283] lkdtm: Performing direct entry WARNING",
  "[    3.463349] ------------[ cut here ]------------",
  "[    3.537515] ---[ end trace 0000000000000000 ]---",
  "[    3.608533] note: sh[51] exited with irqs disabled",
  "[    3.112990] sysrq: Trigger a crash",
  "NMI backtrace for cpu 1",
  "Segmentation fault",
];

Deno.test("classifyLine: real first lines", () => {
  for (const [line, kind] of REAL_FIRST_LINES) {
    assert.equal(classifyLine(line), kind, line);
    assert.equal(classifyLine(line + "\r"), kind, "with CR: " + line);
  }
});

Deno.test("classifyLine: real noise and every clean-boot line are not reports", () => {
  for (const line of REAL_NOISE) assert.equal(classifyLine(line), null, line);
  for (const name of ["clean-boot.log", "clean-boot-notime.log"]) {
    for (const line of fixture(name).split("\n")) {
      assert.equal(classifyLine(line), null, `${name}: ${line}`);
    }
  }
});

Deno.test("classifyLine: other report kinds and the lockdep-vs-WARNING split", () => {
  const cases: Array<[string, string]> = [
    ["WARNING: CPU: 0 PID: 1 at fs/fuse/dir.c:10 fuse_x+0x1/0x2", "warning"],
    ["WARNING: possible circular locking dependency detected", "lockdep"],
    ["WARNING: possible recursive locking detected", "lockdep"],
    ["WARNING: inconsistent lock state", "lockdep"],
    ["WARNING: suspicious RCU usage", "lockdep"],
    [
      "BUG: sleeping function called from invalid context at mm/slab.h:600",
      "atomic-sleep",
    ],
    ["BUG: KASAN: slab-use-after-free in fuse_x+0x1/0x2", "kasan"],
    [
      "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
      "kmemleak",
    ],
    ["unreferenced object 0xffff888003b2e480 (size 64):", "kmemleak"],
    ["kmemleak: unreferenced object 0xffff888003b2e480 (size 64):", "kmemleak"],
    [
      "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [famfs:96]",
      "soft-lockup",
    ],
    ["watchdog: CPU1: Watchdog detected hard LOCKUP on cpu 1", "hard-lockup"],
    ["rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "rcu-stall"],
    ["BUG: unable to handle page fault for address: ffffffffff600000", "oops"],
    [
      "general protection fault, probably for non-canonical address 0xdead: 0000 [#1]",
      "oops",
    ],
    ["BUG: Bad page state in process famfs  pfn:0a1b2", "bug"],
  ];
  for (const [line, kind] of cases) {
    assert.equal(classifyLine(`[   1.000000] ${line}`), kind, line);
  }
});

Deno.test("clean boots (with sysrq-l backtraces inside a test) yield no findings", () => {
  for (const name of ["clean-boot.log", "clean-boot-notime.log"]) {
    const w = new ConsoleWatch();
    w.feed(fixture(name));
    w.end();
    assert.deepEqual(w.findings, [], name);
    assert.ok(w.ready, name);
    assert.equal(w.currentTest, null, name);
  }
});

Deno.test("lkdtm WARNING, BUG, EXCEPTION: kinds, attribution and block boundaries", () => {
  const text = fixture("lkdtm-warn-bug-exception.log");
  const fs = scanConsole(text);
  assert.deepEqual(summary(fs), [
    ["warning", "warn_case", "end-marker"],
    ["bug", "bug_case", "end-marker"],
    ["oops", "oops_case", "end-marker"],
    ["warning", null, "end-marker"], // WARNING_MESSAGE after the last test-end
  ]);
  assert.deepEqual(fs.map((f) => f.firstLine), [
    "WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING+0xc/0xf, CPU#1: init.sh/1",
    "kernel BUG at drivers/misc/lkdtm/bugs.c:132!",
    "BUG: kernel NULL pointer dereference, address: 0000000000000000",
    "WARNING: drivers/misc/lkdtm/bugs.c:169 at lkdtm_WARNING_MESSAGE+0x1a/0x20, CPU#0: init.sh/1",
  ]);
  assert.deepEqual(fs.map((f) => f.lines.length), [25, 27, 31, 26]);
  for (const f of fs) {
    // The offset points at the block's first raw line; the block ends with the end marker.
    assert.ok(text.startsWith(f.lines[0], f.offset));
    assert.equal(stripTimestamp(f.lines[0]).text, f.firstLine);
    assert.match(f.lines.at(-1)!, /---\[ end trace 0000000000000000 \]---$/);
    assert.ok(f.lines.every((l) => !l.includes("\r")));
  }
  // "Oops: invalid opcode" after "kernel BUG at" is the same report, not a second finding.
  assert.ok(
    fs[1].lines.includes("[    3.527527] Oops: invalid opcode: 0000 [#1] SMP"),
  );
  assert.equal(fs[2].uptime, 3.598207);
});

Deno.test("sysrq crash: a panic ended by the end of the console (panic=-1 reboots at once)", () => {
  const fs = scanConsole(fixture("sysrq-crash.log"));
  assert.deepEqual(summary(fs), [["panic", "crash_case", "eof"]]);
  assert.equal(
    fs[0].firstLine,
    "Kernel panic - not syncing: sysrq triggered crash",
  );
  assert.equal(fs[0].lines.length, 16);
  assert.equal(fs[0].lines.at(-1), "[    3.119149] Kernel Offset: disabled");
});

Deno.test("lkdtm PANIC on a console without printk timestamps", () => {
  const text = fixture("lkdtm-panic-notime.log");
  const fs = scanConsole(text);
  assert.deepEqual(summary(fs), [["panic", "panic_case", "eof"]]);
  assert.equal(fs[0].uptime, null);
  assert.equal(fs[0].lines[0], "Kernel panic - not syncing: dumptest");
  assert.equal(fs[0].lines.at(-1), "Kernel Offset: disabled");
  assert.ok(text.startsWith(fs[0].lines[0], fs[0].offset));
});

Deno.test("hung task: one finding per report, closed at the end of its trace", () => {
  const w = new ConsoleWatch();
  w.feed(fixture("lkdtm-hung-task.log"));
  w.end();
  assert.deepEqual(summary(w.findings), [
    ["hung-task", "hung_case", "trace-end"],
    ["hung-task", "hung_case", "trace-end"],
    ["hung-task", "hung_case", "trace-end"],
  ]);
  assert.deepEqual(
    w.findings.map((f) => f.firstLine),
    [3, 6, 9].map((s) => `INFO: task sh:52 blocked for more than ${s} seconds.`),
  );
  assert.ok(
    w.findings.every((f) => f.lines.length === 17 && f.lines[16].endsWith(" </TASK>")),
  );
  assert.equal(w.readyUptime, 3.72);
  assert.equal(w.lastHeartbeat, 14.04);
});

Deno.test("RCU stall from lkdtm SOFTLOCKUP: repeated reports, attribution ends at test-end", () => {
  const fs = scanConsole(fixture("lkdtm-softlockup-rcu-stall.log"));
  assert.deepEqual(fs.map((f) => [f.kind, f.test]), [
    ["rcu-stall", "stall_case"],
    ["rcu-stall", "stall_case"],
    ["rcu-stall", null],
    ["rcu-stall", null],
    ["rcu-stall", null],
  ]);
  // Each report ends before the next heartbeat marker, which is not part of it.
  assert.ok(
    fs.slice(0, 4).every((f) => f.end === "unrelated" && f.lines.at(-1)!.endsWith(" </TASK>")),
  );
  assert.ok(fs.every((f) => f.lines.every((l) => !l.includes("famfs-lab:"))));
});

Deno.test("synthetic debug-flavour reports: KASAN, lockdep, atomic sleep, kmemleak, soft lockup", () => {
  const fs = scanConsole(fixture("debug-flavour.synthetic.log"));
  assert.deepEqual(summary(fs), [
    ["kasan", "kasan_case", "end-marker"],
    ["lockdep", "lockdep_case", "trace-end"],
    ["atomic-sleep", "sleep_case", "trace-end"],
    ["kmemleak", "leak_case", "single-line"],
    ["kmemleak", "leak_case", "unrelated"],
    ["soft-lockup", null, "trace-end"],
  ]);
  // KASAN's block runs from its BUG line to the closing "=====" (not the opening one).
  assert.match(fs[0].lines.at(-1)!, /\] =+$/);
  assert.ok(fs[0].lines.some((l) => l.includes("Allocated by task 88:")));
  // The echoed kmemleak dump has no timestamps; it ends at the first unindented line.
  assert.equal(fs[4].lines.length, 8);
  assert.equal(fs[4].lines.at(-1), "    fuse_famfs_get_fmap+0x4a/0x1c0");
});

Deno.test("the same captures with printk timestamps removed give the same findings", () => {
  for (
    const name of [
      "lkdtm-warn-bug-exception.log",
      "lkdtm-hung-task.log",
      "lkdtm-softlockup-rcu-stall.log",
      "debug-flavour.synthetic.log",
    ]
  ) {
    const text = fixture(name);
    const bare = text.replace(/^\[\s*\d+\.\d+\] ?/gm, "");
    assert.notEqual(bare, text);
    const a = scanConsole(text), b = scanConsole(bare);
    assert.deepEqual(summary(b), summary(a), name);
    assert.deepEqual(
      b.map((f) => f.lines.length),
      a.map((f) => f.lines.length),
      name,
    );
    assert.ok(b.every((f) => f.uptime === null));
  }
});

// Deterministic chunk sizes 1..max, so a failure reproduces.
function chunks(text: string, max: number, seed: number): string[] {
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < text.length;) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const n = 1 + (x % max);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

Deno.test("ConsoleWatch: arbitrary chunking gives the same findings as one feed", () => {
  for (
    const name of [
      "lkdtm-warn-bug-exception.log",
      "lkdtm-hung-task.log",
      "lkdtm-softlockup-rcu-stall.log",
      "debug-flavour.synthetic.log",
    ]
  ) {
    const text = fixture(name);
    const whole = scanConsole(text);
    for (const max of [1, 7, 300, 5000]) {
      const w = new ConsoleWatch();
      for (const c of chunks(text, max, max)) w.feed(c);
      w.end();
      assert.deepEqual(w.findings, whole, `${name} in chunks of <= ${max}`);
    }
  }
});

Deno.test("ConsoleWatch: callbacks, partial lines and lastOutputAt", () => {
  const text = fixture("lkdtm-warn-bug-exception.log");
  const events: string[] = [];
  let clock = 1000;
  const w = new ConsoleWatch({
    now: () => clock,
    onFinding: (f) => events.push(`finding ${f.kind} ${f.test}`),
    onMarker: (m) => events.push(`marker ${m.type}`),
  });
  assert.equal(w.lastOutputAt, null);
  const cut = text.indexOf("famfs-lab: test-begin bug_case") + 10;
  w.feed(text.slice(0, cut));
  // The test-begin line is still partial: not yet seen.
  assert.equal(w.currentTest, null);
  assert.equal(w.lastOutputAt, 1000);
  clock = 2500;
  w.feed(text.slice(cut));
  assert.equal(w.lastOutputAt, 2500);
  w.feed("");
  assert.equal(w.lastOutputAt, 2500, "an empty chunk is not output");
  w.end();
  assert.deepEqual(events, [
    "marker ready",
    "marker test-begin",
    "finding warning warn_case",
    "marker test-end",
    "marker test-begin",
    "finding bug bug_case",
    "marker test-end",
    "marker test-begin",
    "marker test-end",
    "marker test-begin",
    "finding oops oops_case",
    "marker test-end",
    "finding warning null",
  ]);
});

Deno.test("ConsoleWatch: a kernel record glued to user-space output mid-line", () => {
  // Seen verbatim on a real boot: init's echo and the kernel's marker shared a line.
  const markers: Array<[Marker, number]> = [];
  const w = new ConsoleWatch({ onMarker: (m, off) => markers.push([m, off]) });
  w.feed("init: case lkdtm[    5.278493] famfs-lab: ready 5.25\r\n");
  w.feed("\r\n[    5.298975] famfs-lab: test-begin warn_case\r\n");
  assert.deepEqual(markers, [
    [{ type: "ready", uptime: 5.25 }, 16],
    [{ type: "test-begin", name: "warn_case" }, 56],
  ]);
});

Deno.test("ConsoleWatch: the line cap closes a runaway block", () => {
  const text = fixture("lkdtm-warn-bug-exception.log");
  const w = new ConsoleWatch({ maxLines: 5 });
  w.feed(text);
  w.end();
  const first = w.findings[0];
  assert.equal(first.kind, "warning");
  assert.equal(first.end, "cap");
  assert.equal(first.lines.length, 5);
});
