// Kernel-message classifier for a guest's serial console (pure, no I/O).
//
// classifyLine() recognises the first line of a kernel report; ConsoleWatch is fed the console
// text in arbitrary chunks, cuts it into lines, groups each report into a Finding and attributes
// it to the test that was running (per the famfs-lab test-begin/test-end markers that the test
// runner writes to /dev/kmsg).

export type FindingKind =
  | "oops"
  | "bug"
  | "kasan"
  | "kmemleak"
  | "lockdep"
  | "atomic-sleep"
  | "warning"
  | "hung-task"
  | "rcu-stall"
  | "soft-lockup"
  | "hard-lockup"
  | "panic";

/** Why a report's block was closed. */
export type BlockEnd =
  | "end-marker" // "---[ end trace ...", "---[ end Kernel panic ...", KASAN's closing "====="
  | "trace-end" // " </TASK>" of a report that has no end marker (hung task, lockdep, ...)
  | "single-line" // a one-line report ("kmemleak: N new suspected memory leaks")
  | "blank" // an empty line
  | "unrelated" // a line that cannot belong to the report (user space output, a lab marker)
  | "next-report" // the first line of another report
  | "cap" // the block reached the line limit
  | "eof"; // ConsoleWatch.end() with the block still open

export interface Finding {
  kind: FindingKind;
  /** The test running when the first line appeared (null outside tests). */
  test: string | null;
  /** The report's first line without the printk timestamp prefix. */
  firstLine: string;
  /** The whole block as it appeared on the console (timestamps kept, "\r" dropped). */
  lines: string[];
  /** Offset of the first line in the text fed so far, in UTF-16 code units. */
  offset: number;
  /** Guest uptime in seconds from the first line's printk timestamp, when it has one. */
  uptime: number | null;
  end: BlockEnd;
}

export type Marker =
  | { type: "test-begin"; name: string }
  | { type: "test-end"; name: string }
  | { type: "ready"; uptime: number }
  | { type: "heartbeat"; uptime: number };

// "[   12.345678] " optionally followed by a PRINTK_CALLER field "[    T1] " / "[    C0] ".
const TIMESTAMP = /^\[\s*(\d+\.\d+)\](?:\[\s*[TC]\d+\])?\s?/;

/** Splits off the printk timestamp prefix, if any. */
export function stripTimestamp(
  line: string,
): { text: string; uptime: number | null } {
  const m = TIMESTAMP.exec(line);
  if (!m) return { text: line, uptime: null };
  return { text: line.slice(m[0].length), uptime: Number(m[1]) };
}

// Ordered: the first match wins, so specific "WARNING:"/"BUG:" forms precede the generic ones.
const RULES: ReadonlyArray<readonly [RegExp, FindingKind]> = [
  [/^Kernel panic - not syncing: /, "panic"],
  [/^BUG: KASAN: /, "kasan"],
  [/^kmemleak: \d+ new suspected memory leaks?\b/, "kmemleak"],
  // Echoed from /sys/kernel/debug/kmemleak, or printed with kmemleak.verbose=1.
  [/^(kmemleak: )?unreferenced object 0x[0-9a-f]+ \(size \d+\):/, "kmemleak"],
  [
    /^BUG: (sleeping function called from invalid context|scheduling while atomic)\b/,
    "atomic-sleep",
  ],
  [
    /^WARNING: (possible (circular locking dependency|recursive locking)|inconsistent lock state|suspicious RCU usage|possible irq lock inversion|\S+-safe -> \S+-unsafe lock order|bad unlock balance|held lock freed|lock held when returning to user space|Nested lock was not taken|bad contention detected)/,
    "lockdep",
  ],
  [
    /^BUG: (Invalid wait context|MAX_LOCKDEP_\w+ too low|looking up invalid subclass)/,
    "lockdep",
  ],
  // 7.3: "WARNING: fs/x.c:12 at func+0x1/0x2, CPU#1: comm/pid"; older kernels put
  // "CPU: N PID: N" first, or print no CPU at all.
  [/^WARNING: \S+:\d+ at \S+, CPU#\d+: /, "warning"],
  [/^WARNING: CPU: \d+ PID: \d+ at /, "warning"],
  [/^WARNING: at \S/, "warning"],
  [/^INFO: task .+:\d+ blocked for more than \d+ seconds\./, "hung-task"],
  [
    /^(rcu: )?INFO: \w+ (self-)?detected (expedited )?stalls? on CPU/,
    "rcu-stall",
  ],
  [/^watchdog: BUG: soft lockup - CPU#\d+ stuck for /, "soft-lockup"],
  [
    /^(watchdog|NMI watchdog): (CPU\d+: )?Watchdog detected hard LOCKUP on cpu \d+/,
    "hard-lockup",
  ],
  [/^kernel BUG at \S+!/, "bug"],
  [/^Oops: /, "oops"],
  [
    /^BUG: (unable to handle (page fault|kernel)|kernel NULL pointer dereference)/,
    "oops",
  ],
  [/^general protection fault\b/, "oops"],
  // Any other "BUG: ..." (bad page state, spinlock lockup, KFENCE, ...) is still a kernel bug.
  [/^BUG: \S/, "bug"],
];

/** The kind of kernel report that `line` starts, or null. The timestamp prefix is optional. */
export function classifyLine(line: string): FindingKind | null {
  const { text } = stripTimestamp(line.replace(/\r$/, ""));
  for (const [re, kind] of RULES) {
    if (re.test(text)) return kind;
  }
  return null;
}

const MARKER = /^famfs-lab: (test-begin|test-end|ready|heartbeat)\s+(\S+)\s*$/;

/** Parses a famfs-lab marker line ("famfs-lab: test-begin <name>", "famfs-lab: ready <uptime>"). */
export function parseMarker(line: string): Marker | null {
  const { text } = stripTimestamp(line.replace(/\r$/, ""));
  const m = MARKER.exec(text);
  if (!m) return null;
  const [, type, arg] = m;
  if (type === "test-begin" || type === "test-end") return { type, name: arg };
  const uptime = Number(arg);
  if (!Number.isFinite(uptime)) return null;
  return type === "ready" ? { type, uptime } : { type: "heartbeat", uptime };
}

// Reports whose block is closed by an explicit marker line rather than by the end of the trace.
const HAS_END_MARKER: ReadonlySet<FindingKind> = new Set([
  "oops",
  "bug",
  "warning",
  "panic",
  "kasan",
]);
const INNER_BLANKS: ReadonlySet<FindingKind> = new Set(["kasan", "lockdep"]);
const OOPS_FAMILY: ReadonlySet<FindingKind> = new Set(["oops", "bug"]);
const MIDLINE_TIMESTAMP = /\[\s*\d+\.\d{6}\]/g;
const SINGLE_LINE = /^kmemleak: \d+ new suspected/;
const SEPARATOR = /^(=+|-+|-+\[ cut here \]-+)$/;

export interface ConsoleWatchOptions {
  /** Called when a report's block is complete. */
  onFinding?: (f: Finding) => void;
  /** Called for every famfs-lab marker line, in order. */
  onMarker?: (m: Marker, offset: number) => void;
  /** Clock for lastOutputAt (ms); injectable for tests. */
  now?: () => number;
  /** Lines kept per report; the block is closed when it is reached. */
  maxLines?: number;
}

interface OpenBlock {
  finding: Finding;
  timestamped: boolean;
  traceDone: boolean;
}

/** Incremental console watcher: feed() it text as it arrives, end() it at EOF. */
export class ConsoleWatch {
  readonly findings: Finding[] = [];
  /** The test between its test-begin and test-end markers, else null. */
  currentTest: string | null = null;
  /** Guest uptime from "famfs-lab: ready <uptime>", once seen. */
  readyUptime: number | null = null;
  /** Guest uptime from the last heartbeat marker. */
  lastHeartbeat: number | null = null;
  /** now() at the last chunk with any text; the caller decides what silence means. */
  lastOutputAt: number | null = null;

  #partial = "";
  #consumed = 0; // offset of #partial's start in the whole stream
  #open: OpenBlock | null = null;
  readonly #opts: ConsoleWatchOptions;
  readonly #maxLines: number;

  constructor(opts: ConsoleWatchOptions = {}) {
    this.#opts = opts;
    this.#maxLines = opts.maxLines ?? 200;
  }

  get ready(): boolean {
    return this.readyUptime !== null;
  }

  /** Feeds a chunk of console text; a trailing partial line is kept until its newline arrives. */
  feed(chunk: string): void {
    if (chunk === "") return;
    this.lastOutputAt = (this.#opts.now ?? Date.now)();
    const text = this.#partial + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      const end = nl > start && text[nl - 1] === "\r" ? nl - 1 : nl;
      this.#splitLine(text.slice(start, end), this.#consumed + start);
      start = nl + 1;
    }
    this.#consumed += start;
    this.#partial = text.slice(start);
  }

  /** End of stream: the partial line counts as a line and an open block is closed. */
  end(): void {
    if (this.#partial !== "") {
      const line = this.#partial.replace(/\r$/, "");
      const at = this.#consumed;
      this.#consumed += this.#partial.length;
      this.#partial = "";
      this.#splitLine(line, at);
    }
    this.#close("eof");
  }

  // User space and the kernel share the serial port: a kernel record can start in the middle
  // of a line ("init: case lkdtm[    5.278493] famfs-lab: ready 5.25" was seen on a real
  // boot). Each mid-line printk timestamp starts a new line.
  #splitLine(raw: string, offset: number): void {
    let from = 0;
    for (const m of raw.matchAll(MIDLINE_TIMESTAMP)) {
      if (m.index === 0) continue;
      this.#line(raw.slice(from, m.index), offset + from);
      from = m.index;
    }
    this.#line(raw.slice(from), offset + from);
  }

  #line(raw: string, offset: number): void {
    const { text, uptime } = stripTimestamp(raw);
    const kind = classifyLine(raw);
    const marker = parseMarker(raw);
    const open = this.#open;

    if (open) {
      const ended = this.#endsBefore(open, raw, text, uptime, kind, marker);
      if (ended) {
        this.#close(ended);
      } else {
        open.finding.lines.push(raw);
        if (
          open.finding.kind === "kasan" ? /^=+$/.test(text) : /^---\[ end /.test(text)
        ) {
          this.#close("end-marker");
        } else if (/^\s*<\/TASK>$/.test(text)) {
          open.traceDone = true;
          if (
            !HAS_END_MARKER.has(open.finding.kind) &&
            open.finding.kind !== "rcu-stall"
          ) {
            this.#close("trace-end");
          }
        } else if (open.finding.lines.length >= this.#maxLines) {
          this.#close("cap");
        }
        return;
      }
    }

    if (marker) {
      this.#marker(marker, offset);
      return;
    }
    if (kind) {
      this.#open = {
        finding: {
          kind,
          test: this.currentTest,
          firstLine: text,
          lines: [raw],
          offset,
          uptime,
          end: "eof",
        },
        timestamped: uptime !== null,
        traceDone: false,
      };
      if (SINGLE_LINE.test(text)) this.#close("single-line");
      else if (this.#maxLines <= 1) this.#close("cap");
    }
  }

  /** Whether `raw` closes the open block before it (and why), or null if it belongs to it. */
  #endsBefore(
    open: OpenBlock,
    raw: string,
    text: string,
    uptime: number | null,
    kind: FindingKind | null,
    marker: Marker | null,
  ): BlockEnd | null {
    const cur = open.finding.kind;
    if (raw.trim() === "") {
      // KASAN and lockdep print empty lines inside their reports; only without printk
      // timestamps do those look blank.
      return !open.timestamped && INNER_BLANKS.has(cur) ? null : "blank";
    }
    if (marker) return "unrelated";
    if (kind) {
      // The lines after a report's first line may classify too ("kernel BUG at" is followed
      // by "Oops: invalid opcode", a stall report repeats "detected stalls"): same report.
      const sameReport = kind === cur ||
        (OOPS_FAMILY.has(kind) && OOPS_FAMILY.has(cur));
      if (kind === "panic" || !sameReport || open.traceDone) {
        return "next-report";
      }
      return null;
    }
    // A kernel report's lines all carry the timestamp if its first line did: an untimestamped
    // line is user space writing to the console.
    if (open.timestamped && uptime === null) return "unrelated";
    // kmemleak's object dump (echoed from debugfs) is an indented block under its header.
    if (
      cur === "kmemleak" &&
      open.finding.firstLine.includes("unreferenced object")
    ) {
      if (!/^(kmemleak: )?\s/.test(text)) return "unrelated";
    }
    // After the call trace, another report's separator ("-----[ cut here ]-----", "=====")
    // belongs to what follows.
    if (open.traceDone && cur !== "kasan" && SEPARATOR.test(text)) {
      return "unrelated";
    }
    return null;
  }

  #marker(m: Marker, offset: number): void {
    switch (m.type) {
      case "test-begin":
        this.currentTest = m.name;
        break;
      case "test-end":
        this.currentTest = null;
        break;
      case "ready":
        this.readyUptime = m.uptime;
        break;
      case "heartbeat":
        this.lastHeartbeat = m.uptime;
        break;
    }
    this.#opts.onMarker?.(m, offset);
  }

  #close(end: BlockEnd): void {
    const open = this.#open;
    if (!open) return;
    this.#open = null;
    open.finding.end = end;
    this.findings.push(open.finding);
    this.#opts.onFinding?.(open.finding);
  }
}

/** Runs a whole captured console through a ConsoleWatch and returns its findings. */
export function scanConsole(text: string): Finding[] {
  const w = new ConsoleWatch();
  w.feed(text);
  w.end();
  return w.findings;
}
