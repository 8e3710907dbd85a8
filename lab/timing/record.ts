// Timing of a main job, recorded while it runs: each guest's boots and stop, and for each test
// (and fixture teardown) its wall time and its guest commands totalled by category. Written as
// timing.json beside the run's reports.
import { type ExecCategory, execCategory } from "./category.ts";

export interface CategoryTotal {
  count: number;
  ms: number;
}

export interface TestTiming {
  suite: string;
  test: string;
  wallMs: number;
  /** Guest commands by category (they may overlap: a test can run commands side by side). */
  execs: Partial<Record<ExecCategory, CategoryTotal>>;
  /** Wall time with no guest command running: host-side waits and polls, the runner's own work. */
  hostMs: number;
}

export interface GuestTiming {
  topology: string;
  /** Every boot up to SSH ready: the first, then replacements after timed-out tests. */
  bootMs: number[];
  stopMs: number;
  tests: TestTiming[];
}

export interface RunTiming {
  runId: string;
  wallMs: number;
  guests: GuestTiming[];
}

/** Milliseconds covered by the union of [start, end) intervals. */
export function coveredMs(spans: readonly (readonly [number, number, ...unknown[]])[]): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0, end = -Infinity;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/** Records one guest's timing; commands outside a test (none today) are not counted. */
export class GuestTimer {
  readonly timing: GuestTiming;
  #test: { suite: string; test: string; started: number; spans: [number, number, ExecCategory][] } | null = null;

  constructor(topology: string) {
    this.timing = { topology, bootMs: [], stopMs: 0, tests: [] };
  }

  begin(suite: string, test: string): void {
    this.#test = { suite, test, started: performance.now(), spans: [] };
  }

  end(): void {
    const t = this.#test;
    if (!t) return;
    this.#test = null;
    const wallMs = performance.now() - t.started;
    const execs: Partial<Record<ExecCategory, CategoryTotal>> = {};
    for (const [s, e, category] of t.spans) {
      const c = execs[category] ??= { count: 0, ms: 0 };
      c.count++;
      c.ms += e - s;
    }
    for (const c of Object.values(execs)) c.ms = Math.round(c.ms);
    this.timing.tests.push({
      suite: t.suite,
      test: t.test,
      wallMs: Math.round(wallMs),
      execs,
      hostMs: Math.round(Math.max(0, wallMs - coveredMs(t.spans))),
    });
  }

  /** Runs a guest command, counting its time under its category in the current test. */
  async exec<T>(command: string, run: () => Promise<T>): Promise<T> {
    const t = this.#test;
    const s = performance.now();
    try {
      return await run();
    } finally {
      t?.spans.push([s, performance.now(), execCategory(command)]);
    }
  }

  async boot<T>(run: () => Promise<T>): Promise<T> {
    const s = performance.now();
    try {
      return await run();
    } finally {
      this.timing.bootMs.push(Math.round(performance.now() - s));
    }
  }

  async stop(run: () => Promise<void>): Promise<void> {
    const s = performance.now();
    try {
      await run();
    } finally {
      this.timing.stopMs += Math.round(performance.now() - s);
    }
  }
}

export function renderTiming(t: RunTiming): string {
  return JSON.stringify(t, null, 2) + "\n";
}
