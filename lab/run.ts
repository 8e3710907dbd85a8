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
import { daxDevices, hostNames, loadTopology, type Topology } from "./topology.ts";
import { GuestTimer, type GuestTiming, renderTiming } from "./timing/record.ts";
import { Guest } from "./vm.ts";
import { type NotApplicable, notApplicable, type RunnerGuest, type RunnerPeer, runOnGuest } from "./suite_runner.ts";
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

/**
 * Run folders of a topology's guests below `dir`: `dir` itself for one host, else dir/host-a, dir/host-b, ...
 * and the shared backing files (relative ones live in `dir`: scratch, removed when the guests stop).
 */
export function hostLayout(t: Topology, dir: string): { dirs: string[]; sharedScratch: string[] } {
  const names = hostNames(t);
  if (names.length === 0) return { dirs: [dir], sharedScratch: [] };
  const dirs = names.map((n) => `${dir}/${n}`);
  const sharedScratch = t.pmem.filter((p) => p.shared && p.backing && !p.backing.startsWith("/"))
    .map((p) => new URL(p.backing!, `file://${dirs[0]}/`).pathname);
  return { dirs, sharedScratch };
}

/** Boots one guest (or the guests of a multi-host topology) and runs the suites on it (replacing it after a timed-out test). */
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
  let current: Guest[] = [];
  let scratch: string[] = [];
  /** Stops the guests (peers first) and removes the shared backing files they mapped. */
  const stopAll = async () => {
    for (const g of [...current].reverse()) await g.stop();
    current = [];
    for (const f of scratch) await Deno.remove(f).catch(() => {});
  };
  const devicesOf = (g: Guest): GuestDevice[] =>
    g.devices.map((d) => ({
      id: d.id,
      kind: declared.find((x) => x.id === d.id)?.kind ?? "pmem",
      path: d.path,
      bytes: d.bytes,
      driver: d.driver === "fsdev_dax" ? "fsdev_dax" : "device_dax",
    }));
  const boot = async (attempt: number): Promise<RunnerGuest> => {
    const layout = hostLayout(topology, attempt === 0 ? runDir : `${runDir}/replacement-${attempt}`);
    scratch = layout.sharedScratch;
    const relays = layout.dirs.map(() => consoleRelay());
    // One after the other: the first host sets up the shared namespaces the others probe at boot.
    for (const [i, dir] of layout.dirs.entries()) {
      const g = await timer.boot(() =>
        Guest.boot({
          topology,
          kernelImage: kernel.image,
          kernelDescription: kernel.description,
          debugKernel: req.kernel.flavour === "debug",
          runDir: dir,
          append: req.append,
          accel: req.accel,
          onConsole: relays[i].feed,
          log: req.log,
          host: i,
        })
      ).catch(async (e) => {
        await stopAll();
        throw e;
      });
      current.push(g);
      const which = layout.dirs.length > 1 ? ` ${hostNames(topology)[i]}` : "";
      req.log(`lab: ${topology.name}${which} guest ready in ${(g.bootMs / 1000).toFixed(1)} s`);
    }
    const [g, ...others] = current;
    const peers: RunnerPeer[] = others.map((p, i) => ({
      host: hostNames(topology)[i + 1],
      devices: devicesOf(p),
      exec: (command, opts) => p.ssh.exec(command, opts),
      onConsole: relays[i + 1].attach,
    }));
    return {
      facts: { topology: topology.name, hosts: topology.hosts, declared, devices: devicesOf(g) },
      exec: (command, opts) => g.ssh.exec(command, opts),
      onConsole: relays[0].attach,
      peers,
      lost: () => {
        const gone = current.find((x) => x.hung || !x.alive);
        if (!gone) return null;
        const which = current.length > 1 ? ` (${hostNames(topology)[current.indexOf(gone)]})` : "";
        return `${gone.hung ? "hung" : "died"}${which}`;
      },
      async replace() {
        await timer.stop(stopAll);
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
  const bootMs = current.reduce((s, g) => s + g.bootMs, 0);
  let findings: Finding[] = [];
  try {
    const driver = { kernel: facts, repo: REPO_DIR, deno: GUEST_DENO, log: req.log, timer };
    findings = (await runOnGuest(first, suites, driver, done)).findings;
  } finally {
    await timer.stop(stopAll);
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

/**
 * The suites that run on a topology: multi-host suites (needs.hosts > 1) only on topologies with that many
 * hosts, and a multi-host topology runs only those (its host A would only repeat the single-host runs).
 */
export function suitesForHosts<S extends Pick<Suite, "name" | "needs">>(t: Topology, suites: readonly S[]): S[] {
  return suites.filter((s) => {
    const needs = s.needs.hosts ?? 1;
    return t.hosts > 1 ? needs > 1 && needs <= t.hosts : needs === 1;
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
    // A multi-host topology runs only multi-host suites, and those run nowhere else.
    matrix: topologies.flatMap((t) => suitesForHosts(t, applicable).map((s) => ({ guest: t.name, suite: s.name }))),
    shard: req.shard,
    shardWeights: req.shardWeights,
    reportsDir: `${REPO_DIR}/reports`,
  });
  const timings: GuestTiming[] = [];
  for (const t of topologies) {
    if (applicable.length > 0 && suitesForHosts(t, applicable).length === 0) {
      const need = t.hosts > 1 ? "a single host" : "several hosts";
      const names = applicable.map((s) => s.name).join(", ");
      req.log(`lab: nothing to run on ${t.name}: ${names} ${applicable.length > 1 ? "need" : "needs"} ${need}`);
    }
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
