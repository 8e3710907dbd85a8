// Normalized titles of kernel reports, for telling "the same report" across runs (as syzkaller
// dedups): no pids, addresses, CPU numbers, source line numbers or call offsets, and the function
// the report happened in when the first line does not name it. Pure.
import { type Finding, stripTimestamp } from "./kmsg.ts";

// Frames that say where the report was printed from, not where the bug is.
const REPORTING_FRAME =
  /^(dump_stack\w*|show_stack|print_\w+|kasan_\w+|__kasan_\w+|__might_\w+|might_\w+|__schedule|schedule\w*|__lock_acquire|lock_acquire|check_\w+|validate_chain|__warn|warn_\w+|report_bug|handle_bug|exc_\w+|asm_exc_\w+|__kmalloc\w*|kmalloc\w*|kmem_cache_alloc\w*|__kmem_cache\w*|kzalloc\w*|slab_\w+|__slab_\w+|lkdtm_do_action|__x64_sys_\w+|do_syscall_64|entry_SYSCALL\w*)$/;

// A call frame: "RIP: 0010:func+0x4/0x6", " ? func+0x18/0x1b", "    func+0x4a/0x1c0".
const RIP = /^RIP: [0-9a-f]{4}:([\w.]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/;
const FRAME = /^\s*(?:\? )?([\w.]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/;

/** The function a report happened in: RIP when printed, else the first frame that is not reporting machinery. */
export function reportFunction(lines: readonly string[]): string | null {
  const texts = lines.map((l) => stripTimestamp(l.replace(/\r$/, "")).text);
  for (const t of texts) {
    const m = RIP.exec(t);
    if (m) return m[1];
  }
  for (const t of texts) {
    const m = FRAME.exec(t);
    if (m && !REPORTING_FRAME.test(m[1])) return m[1];
  }
  return null;
}

/** Removes what changes from run to run (addresses, pids, CPUs, line numbers, offsets) from one line. Pure. */
export function normalizeLine(text: string): string {
  return text
    .replace(/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?/g, "")
    .replace(/, CPU#\d+: \S+\/\d+$/, "")
    .replace(/\b0x[0-9a-f]+\b/g, "ADDR")
    .replace(/\b[0-9a-f]{8,}\b/g, "ADDR")
    .replace(/CPU#\d+/g, "CPU")
    .replace(/\b(CPU|PID|cpu|pid)(:?) \d+/g, "$1$2 N")
    .replace(/\[([\w./-]+):\d+\]/g, "[$1]")
    .replace(/\btask ([\w./-]+):\d+/g, "task $1")
    .replace(/(\.[chS]):\d+/g, "$1")
    .replace(/\b\d+(s|\.\d+s| seconds| jiffies)\b/g, "N$1")
    .replace(/^kmemleak: \d+ new/, "kmemleak: N new")
    .replace(/\s+/g, " ")
    .trim();
}

/** The deduplication title of a report. Pure. */
export function reportTitle(f: Pick<Finding, "kind" | "firstLine" | "lines">): string {
  const first = normalizeLine(stripTimestamp(f.firstLine).text);
  const fn = reportFunction(f.lines);
  const where = fn ?? "unknown";
  switch (f.kind) {
    case "warning":
      // Every WARNING form names the function after "at"; fall back to RIP.
      return `WARNING in ${f.firstLine.match(/ at ([\w.]+)\+0x/)?.[1] ?? where}`;
    case "kmemleak":
      return /unreferenced object/.test(f.firstLine) ? `memory leak in ${where}` : first;
    case "hung-task":
      return `INFO: task hung in ${where}`;
    case "rcu-stall":
      return `INFO: rcu detected stall in ${where}`;
    case "soft-lockup":
      return `BUG: soft lockup in ${where}`;
    case "hard-lockup":
      return `BUG: hard lockup in ${where}`;
    case "bug":
      return /^kernel BUG at /.test(first) ? `kernel BUG in ${where}` : withFunction(first, fn);
    case "oops":
    case "atomic-sleep":
      // "address: ..." and "at mm/slab.h" vary or say less than the function does.
      return withFunction(first.replace(/, address: \S+$/, "").replace(/ at \S+$/, ""), fn);
    case "kasan":
    case "lockdep":
    case "panic":
      return first;
  }
}

function withFunction(title: string, fn: string | null): string {
  return fn && !title.includes(` ${fn}`) ? `${title} in ${fn}` : title;
}
