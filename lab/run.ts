// The main job: build the kernel, then for each topology boot a guest and hand it to the suite
// driver (suite_runner.ts); results are written to reports/<run-id>/ after every test.
import { REPO_DIR } from "./cache.ts";
import type { Kernel } from "./kernel.ts";
import type { Finding } from "./kmsg.ts";
import type { LabOptions } from "./options.ts";
import type { TestResult } from "./report/result.ts";
import { buildSummary } from "./report/summary.ts";
import { writeRunReports } from "./report/write.ts";
import { planShard, suitesOn } from "./shard.ts";
import { daxDevices, loadTopology, type Topology } from "./topology.ts";
import { GuestTimer, type GuestTiming, renderTiming } from "./timing/record.ts";
import { Guest } from "./vm.ts";
import { type NotApplicable, notApplicable, type RunnerGuest, runOnGuest } from "./suite_runner.ts";
import { SUITES } from "../suites/index.ts";
import { contractFor, type GuestDevice, type KernelFacts, SPECIFICATION, type Suite } from "../suites/contract/mod.ts";

export interface RunRequest extends LabOptions {
  kernelBuild: (o: LabOptions) => Promise<Kernel>;
  log: (line: string) => void;
}

/** What the suites know of the kernel under test (its famfs profile was found by the build). */
export function kernelFacts(kernel: Kernel, req: LabOptions): KernelFacts {
  const { profile, how } = kernel.famfs;
  return {
    description: kernel.description,
    flavour: req.kernel.flavour,
    famfs: profile && { profile, how, contract: contractFor(profile) },
  };
}

export const GUEST_DENO = `${REPO_DIR}/node_modules/.bin/deno`;

export function selectSuites(names: string[]): Suite[] {
  if (names.length === 0) return SUITES;
  return names.map((n) => {
    const s = SUITES.find((x) => x.name === n);
    // Options checked the names against the suite list (lab/choices.ts) before anything ran.
    if (!s) throw new Error(`selectSuites: no suite "${n}"`);
    return s;
  });
}

/** Holds console chunks until the suite driver attaches, so boot messages are classified too. */
function consoleRelay() {
  const held: string[] = [];
  let sink: ((chunk: string) => void) | undefined;
  return {
    feed: (c: string) => sink ? sink(c) : held.push(c),
    attach(f: (chunk: string) => void) {
      sink = f;
      for (const c of held.splice(0)) f(c);
    },
  };
}

/** Boots one guest and runs the suites on it (replacing it after a timed-out test). */
async function runInGuest(
  topology: Topology,
  kernel: Kernel,
  facts: KernelFacts,
  suites: Suite[],
  req: RunRequest,
  runDir: string,
  done: (r: TestResult) => Promise<void>,
  timer: GuestTimer,
): Promise<void> {
  const declared = daxDevices(topology);
  let current: Guest | undefined;
  const boot = async (attempt: number): Promise<RunnerGuest> => {
    const relay = consoleRelay();
    const g = await timer.boot(() =>
      Guest.boot({
        topology,
        kernelImage: kernel.image,
        kernelDescription: kernel.description,
        debugKernel: req.kernel.flavour === "debug",
        runDir: attempt === 0 ? runDir : `${runDir}/replacement-${attempt}`,
        append: req.append,
        accel: req.accel,
        onConsole: relay.feed,
        log: req.log,
      })
    );
    current = g;
    req.log(`lab: ${topology.name} guest ready in ${(g.bootMs / 1000).toFixed(1)} s`);
    const devices: GuestDevice[] = g.devices.map((d) => ({
      id: d.id,
      kind: declared.find((x) => x.id === d.id)?.kind ?? "pmem",
      path: d.path,
      bytes: d.bytes,
      driver: d.driver === "fsdev_dax" ? "fsdev_dax" : "device_dax",
    }));
    return {
      facts: { topology: topology.name, declared, devices },
      exec: (command, opts) => g.ssh.exec(command, opts),
      onConsole: relay.attach,
      lost: () => (g.hung ? "hung" : g.alive ? null : "died"),
      async replace() {
        await timer.stop(() => g.stop());
        return await boot(attempt + 1);
      },
      timeScale: g.timeouts.scale,
    };
  };
  const bootStart = Date.now();
  let first: RunnerGuest;
  try {
    first = await boot(0);
  } catch (e) {
    await done({
      suite: `boot@${topology.name}`,
      name: "guest-ready",
      status: "fail",
      durationMs: Date.now() - bootStart,
      message: (e as Error).message,
      findings: [],
    });
    return;
  }
  const bootMs = current!.bootMs;
  let findings: Finding[] = [];
  try {
    const driver = { kernel: facts, repo: REPO_DIR, deno: GUEST_DENO, log: req.log, timer };
    findings = (await runOnGuest(first, suites, driver, done)).findings;
  } finally {
    if (current) await timer.stop(() => current!.stop());
  }
  const outside = findings.filter((f) => f.test === null);
  await done({
    suite: `boot@${topology.name}`,
    name: "kernel-log-outside-tests",
    status: outside.length === 0 ? "pass" : "fail",
    durationMs: 0,
    message: outside.length ? outside.map((f) => `${f.kind}: ${f.firstLine}`).join("; ") : undefined,
    findings: outside,
    details: { bootMs },
  });
}

export function newRunId(command: string): string {
  return `${new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z")}-${command}`;
}

export interface RunOutcome {
  dir: string;
  results: TestResult[];
  kernel: KernelFacts;
  notApplicable: NotApplicable[];
}

/** One line on the kernel's famfs support, printed once at the top of the run. */
export function famfsLine(k: KernelFacts, na: readonly NotApplicable[]): string {
  if (!k.famfs) {
    return `lab: kernel ${k.description} has no famfs support; not applicable: ${
      na.map((n) => n.suite).join(", ") || "none of the chosen suites"
    }`;
  }
  return `lab: famfs profile ${k.famfs.profile} (${k.famfs.how}); judged against ${SPECIFICATION}`;
}

/** Runs the chosen suites on every topology of the request; reports are current after each test. */
export async function runSuites(req: RunRequest): Promise<RunOutcome> {
  const suites = selectSuites(req.suites);
  const runId = req.runId ?? newRunId("run");
  const dir = `${REPO_DIR}/reports/${runId}`;
  const started = new Date();
  const kernel = await req.kernelBuild(req);
  const facts = kernelFacts(kernel, req);
  const topologies = await Promise.all(req.topology.split(",").map((t) => loadTopology(t)));
  const na = notApplicable(suites, facts, { topology: "", declared: [], devices: [], findings: () => [] });
  req.log(famfsLine(facts, na));
  const applicable = suites.filter((s) => !na.some((n) => n.suite === s.name));
  const results: TestResult[] = [];
  const save = async (r: TestResult) => {
    results.push(r);
    const word = { pass: "ok", skip: "skip", fail: "FAIL", deviation: "DEVIATION" }[r.status];
    const why = r.message ?? r.skipReason;
    req.log(`${word} ${r.suite} ${r.name}${why ? `: ${why.split("\n")[0]}` : ""}`);
    await writeRunReports(
      dir,
      buildSummary({
        runId,
        kernel: kernel.description,
        topology: topologies.map((t) => t.name).join(","),
        startedAt: started,
        wallMs: Date.now() - started.getTime(),
        specification: SPECIFICATION,
        famfs: facts.famfs && { profile: facts.famfs.profile, how: facts.famfs.how },
        notApplicable: na,
        tests: results,
      }),
    );
  };
  const shard = await planShard(dir, {
    kernel: kernel.description,
    guests: topologies.map((t) => t.name),
    suites: applicable.map((s) => s.name),
    shard: req.shard,
    shardWeights: req.shardWeights,
    reportsDir: `${REPO_DIR}/reports`,
  });
  const timings: GuestTiming[] = [];
  for (const t of topologies) {
    const mine = suitesOn(shard, t.name, applicable);
    if (mine.length === 0) continue;
    const timer = new GuestTimer(t.name);
    timings.push(timer.timing);
    try {
      await runInGuest(t, kernel, facts, mine, req, `${dir}/${t.name}`, save, timer);
    } finally {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/timing.json`,
        renderTiming({ runId, wallMs: Date.now() - started.getTime(), guests: timings }),
      );
    }
  }
  return { dir, results, kernel: facts, notApplicable: na };
}
