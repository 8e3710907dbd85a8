// The suite driver: runs suites test by test on one guest. It owns gating, fixtures (set up
// before a suite's first test, torn down after its last, also when a test failed), time limits
// (an AbortSignal per test; a test that runs out of time is stopped and the guest replaced
// before the next one) and the verdict (the contract's pure `decide`). It reaches the guest only
// through RunnerGuest, so tests hand it a fake guest that replays captured consoles.
import { ConsoleWatch, type Finding } from "./kmsg.ts";
import type { TestResult } from "./report/result.ts";
import type { GuestTimer } from "./timing/record.ts";
import {
  decide,
  type ExecOptions,
  type ExecResult,
  gate,
  type GuestDevice,
  type GuestFacts,
  type KernelFacts,
  type Peer,
  type Suite,
  type SuiteContext,
} from "../suites/contract/mod.ts";

/** Another guest of a multi-host topology, driven through the first one's tests. */
export interface RunnerPeer {
  host: string;
  devices: readonly GuestDevice[];
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Delivers console output (in any chunks) from now on. */
  onConsole(listener: (chunk: string) => void): void;
}

/** What the driver needs of a guest. */
export interface RunnerGuest {
  facts: Omit<GuestFacts, "findings">;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Delivers console output (in any chunks) from now on. */
  onConsole(listener: (chunk: string) => void): void;
  /** The other guests sharing the topology's memory (markers and kernel reports cover them too). */
  peers?: readonly RunnerPeer[];
  /** Why the guest cannot run commands any more (hung, died), or null. */
  lost(): string | null;
  /** Boots a fresh guest of the same kind in place of this one (after a timed-out test). */
  replace(): Promise<RunnerGuest>;
  /** Multiplies test time limits: the accelerator's and the kernel flavour's slowness. */
  timeScale: number;
}

export interface RunnerOptions {
  kernel: KernelFacts;
  repo: string;
  deno: string;
  /** Test time limit when a test names none, before scaling. */
  defaultTestMs?: number;
  /** How long the console may take to show a marker line. */
  markerWaitMs?: number;
  /** How long a stopped test may take to settle before the guest is replaced anyway. */
  settleMs?: number;
  log?: (line: string) => void;
  /** Times each test and its guest commands (timing.json). */
  timer?: GuestTimer;
}

/** A suite that does not apply to the kernel at all (e.g. famfs suites on a stock kernel). */
export interface NotApplicable {
  suite: string;
  reason: string;
}

export const DEFAULT_TEST_MS = 60_000;

class TimedOut extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = "TimedOut";
  }
}

/** Suites whose needs the kernel cannot meet at all: reported once per run, not per test. */
export function notApplicable(suites: readonly Suite[], kernel: KernelFacts, facts: GuestFacts): NotApplicable[] {
  return suites.flatMap((s) => {
    const g = gate(s.needs, kernel, facts);
    return !g.run && g.notApplicable ? [{ suite: s.name, reason: g.reason }] : [];
  });
}

/** The console watch of a guest currently in use; markers go through the kernel log. */
class Console {
  findings: Finding[] = [];
  /** `host`: a peer's name, put before its findings' first lines. */
  constructor(readonly host?: string) {}
  #markers = new Set<string>();
  #waiters: (() => void)[] = [];
  watch = new ConsoleWatch({
    onFinding: (f) => this.findings.push(this.host ? { ...f, firstLine: `[${this.host}] ${f.firstLine}` } : f),
    onMarker: (m) => {
      if (m.type === "test-begin" || m.type === "test-end") this.#markers.add(`${m.type} ${m.name}`);
      for (const w of this.#waiters.splice(0)) w();
    },
  });

  /** Resolves when `marker` ("test-end suite/test") has appeared, or after `ms`. */
  async seen(marker: string, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.#markers.has(marker) && Date.now() < until) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, until - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.#markers.has(marker);
  }
}

/** Runs `suites` on `first` (and on replacements after timeouts); each result goes to `done` at once. */
export async function runOnGuest(
  first: RunnerGuest,
  suites: readonly Suite[],
  o: RunnerOptions,
  done: (r: TestResult) => Promise<void>,
): Promise<{ guest: RunnerGuest; findings: Finding[] }> {
  let guest = first;
  const consoles: Console[] = [];
  /** The guest's console watch, then its peers'. */
  const attach = (g: RunnerGuest) => {
    const hosts: { host?: string; onConsole: RunnerPeer["onConsole"] }[] = [g, ...(g.peers ?? [])];
    return hosts.map((h) => {
      const c = new Console(h.host);
      h.onConsole((chunk) => c.watch.feed(chunk));
      consoles.push(c);
      return c;
    });
  };
  let cons = attach(guest);
  /** Kernel reports of the current guest and its peers during test `id`. */
  const ownFindings = (id: string) => cons.flatMap((c) => c.findings.filter((f) => f.test === id));
  const allFindings = () => consoles.flatMap((c) => c.findings);
  const facts = (): GuestFacts => ({ ...guest.facts, findings: () => allFindings() });
  const markerMs = o.markerWaitMs ?? 5000;

  const mark = async (what: "test-begin" | "test-end", id: string) => {
    if (guest.lost()) return;
    const line = `echo 'famfs-lab: ${what} ${id}' > /dev/kmsg`;
    const hosts = [guest, ...(guest.peers ?? [])];
    await Promise.all(hosts.map(async (h, i) => {
      await timedExec((c, opts) => h.exec(c, opts), o, line, { timeoutMs: 10_000 }).catch(() => {});
      await cons[i].seen(`${what} ${id}`, markerMs);
    }));
  };

  /** Tears a fixture down; a failure or a kernel report there is a result of its own. */
  const teardown = async (suite: Suite, value: unknown) => {
    const id = `${suite.name}/fixture-teardown`;
    const started = Date.now();
    if (guest.lost()) return;
    o.timer?.begin(suite.name, "fixture-teardown");
    await mark("test-begin", id);
    let error: string | undefined;
    try {
      const ac = new AbortController();
      const limit = Math.round((o.defaultTestMs ?? DEFAULT_TEST_MS) * guest.timeScale);
      await withLimit(suite.fixture!.teardown(contextFor(guest, facts(), o, ac.signal, {}), value), limit, ac, 1000);
    } catch (e) {
      error = (e as Error).message;
    }
    await mark("test-end", id);
    o.timer?.end();
    const own = ownFindings(id);
    const v = decide({
      error,
      findings: own.map((f) => `${f.kind}: ${f.firstLine}`),
      expectFindings: false,
      contract: null,
    });
    if (v.status === "pass") return;
    await done({
      suite: `${suite.name}@${guest.facts.topology}`,
      name: "fixture-teardown",
      status: v.status,
      durationMs: Date.now() - started,
      message: v.message,
      findings: own,
    });
  };
  for (const suite of suites) {
    const sg = gate(suite.needs, o.kernel, facts());
    if (!sg.run && sg.notApplicable) continue;
    let state: { value: unknown } | undefined;
    let setupError: string | undefined;
    for (const test of suite.tests) {
      const id = `${suite.name}/${test.name}`;
      const started = Date.now();
      const details: Record<string, unknown> = {};
      const result = (v: ReturnType<typeof decide>, findings: Finding[]): TestResult => ({
        suite: `${suite.name}@${guest.facts.topology}`,
        name: test.name,
        status: v.status,
        durationMs: Date.now() - started,
        message: v.status === "skip" ? undefined : v.message,
        skipReason: v.status === "skip" ? v.message : undefined,
        deviation: v.deviation,
        findings,
        details: Object.keys(details).length ? details : undefined,
      });
      const tg = sg.run ? gate(test.needs ?? {}, o.kernel, facts()) : sg;
      if (!tg.run) {
        await done(result({ status: "skip", message: tg.reason }, []));
        continue;
      }
      const lostBefore = guest.lost();
      if (lostBefore) {
        await done(
          result(
            decide({ notRun: `${lostBefore} earlier in the run`, findings: [], expectFindings: false, contract: null }),
            [],
          ),
        );
        continue;
      }
      const limit = Math.round((test.timeoutMs ?? o.defaultTestMs ?? DEFAULT_TEST_MS) * guest.timeScale);
      const ac = new AbortController();
      const ctx = contextFor(guest, facts(), o, ac.signal, details);
      o.timer?.begin(suite.name, test.name);
      await mark("test-begin", id);
      let outcome, error: string | undefined, timedOut: number | undefined;
      try {
        const body = async () => {
          if (!state && suite.fixture && setupError === undefined) {
            try {
              state = { value: await suite.fixture.setup(ctx) };
            } catch (e) {
              setupError = `fixture setup failed: ${(e as Error).message}`;
            }
          }
          if (setupError !== undefined) throw new Error(setupError);
          return await test.run(ctx, state?.value);
        };
        outcome = await withLimit(body(), limit, ac, o.settleMs ?? 10_000);
      } catch (e) {
        if (e instanceof TimedOut) timedOut = e.ms;
        else error = (e as Error).message;
      }
      await mark("test-end", id);
      o.timer?.end();
      const own = ownFindings(id);
      const lost = guest.lost();
      const v = decide({
        outcome,
        error: error ?? (lost ? `the guest ${lost} during the test` : undefined),
        timedOutAfterMs: timedOut,
        findings: own.map((f) => `${f.kind}: ${f.firstLine}`),
        expectFindings: test.expectFindings ?? false,
        contract: o.kernel.famfs?.contract ?? null,
      });
      await done(result(v, own));
      if (timedOut !== undefined && !guest.lost()) {
        // The test may have left processes, mounts and bound devices behind: start afresh.
        o.log?.(`lab: ${id} timed out; replacing the ${guest.facts.topology} guest`);
        guest = await guest.replace();
        cons = attach(guest);
        state = undefined;
      }
    }
    if (state && suite.fixture) await teardown(suite, state.value);
  }
  return { guest, findings: allFindings() };
}

/** Races a test against its limit; on time-out aborts it and gives it `settleMs` to let go. */
async function withLimit<T>(p: Promise<T>, ms: number, ac: AbortController, settleMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(ms)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } catch (e) {
    if (e instanceof TimedOut) {
      ac.abort(e);
      await Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, settleMs))]);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a guest command, timed under the current test when the run keeps timings. */
function timedExec(
  exec: RunnerGuest["exec"],
  o: RunnerOptions,
  command: string,
  opts: ExecOptions,
): Promise<ExecResult> {
  return o.timer ? o.timer.exec(command, () => exec(command, opts)) : exec(command, opts);
}

function contextFor(
  guest: RunnerGuest,
  facts: GuestFacts,
  o: RunnerOptions,
  signal: AbortSignal,
  details: Record<string, unknown>,
): SuiteContext {
  const stoppable = (exec: RunnerGuest["exec"]): RunnerGuest["exec"] => (command, opts = {}) => {
    // A stopped test may not drive the guest any more.
    if (signal.aborted) return Promise.reject(new Error(`test stopped: not running ${command}`));
    const s = opts.signal ? AbortSignal.any([signal, opts.signal]) : signal;
    return timedExec(exec, o, command, { ...opts, signal: s });
  };
  const peers: Peer[] = (guest.peers ?? []).map((p) => ({
    host: p.host,
    devices: p.devices,
    exec: stoppable((c, opts) => p.exec(c, opts)),
  }));
  return {
    exec: stoppable((c, opts) => guest.exec(c, opts)),
    guest: facts,
    peers,
    kernel: o.kernel,
    repo: o.repo,
    deno: o.deno,
    signal,
    record: (d) => Object.assign(details, d),
  };
}
