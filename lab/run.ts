// The main job: for each topology boot a guest, run the chosen suites test by test with kernel
// log markers around each test, and keep the results current on disk after every test.
import { REPO_DIR } from "./cache.ts";
import type { Kernel } from "./kernel.ts";
import { resolveSeriesPath } from "./patches.ts";
import { ConsoleWatch, type Finding } from "./kmsg.ts";
import type { LabOptions } from "./options.ts";
import type { TestResult } from "./report/result.ts";
import { buildSummary } from "./report/summary.ts";
import { writeRunReports } from "./report/write.ts";
import { planShard, suitesOn } from "./shard.ts";
import { loadTopology, type Topology } from "./topology.ts";
import { Guest } from "./vm.ts";
import { SUITES } from "../suites/index.ts";
import type { Suite, SuiteContext } from "../src/suite.ts";

export interface RunRequest extends LabOptions {
  kernelBuild: (o: LabOptions) => Promise<Kernel>;
  log: (line: string) => void;
}

/** The famfs protocol profile a series implements, from its `profile` file (null: stock kernel). */
export async function seriesProfile(series: string | undefined): Promise<SuiteContext["profile"]> {
  if (!series) return null;
  const text = await Deno.readTextFile(`${resolveSeriesPath(series)}/profile`).catch(() => "");
  const p = text.trim();
  if (p === "") return null;
  if (p !== "ref" && p !== "v3" && p !== "rfc-v2") {
    throw new Error(`series ${series}: profile "${p}" is not ref, v3 or rfc-v2`);
  }
  return p;
}

export const GUEST_DENO = `${REPO_DIR}/node_modules/.bin/deno`;

function selectSuites(names: string[]): Suite[] {
  if (names.length === 0) return SUITES;
  return names.map((n) => {
    const s = SUITES.find((x) => x.name === n);
    if (!s) {
      throw new Error(
        `unknown suite "${n}"; known: ${SUITES.map((x) => x.name).join(", ")}`,
      );
    }
    return s;
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Runs the suites in one guest; every finished test is passed to `done` at once. */
async function runInGuest(
  topology: Topology,
  kernel: Kernel,
  suites: Suite[],
  req: RunRequest,
  runDir: string,
  done: (r: TestResult) => Promise<void>,
): Promise<void> {
  const findings: Finding[] = [];
  const markers: string[] = [];
  const watch = new ConsoleWatch({
    onFinding: (f) => findings.push(f),
    onMarker: (m) => m.type === "test-end" && markers.push(m.name),
  });
  const bootStart = Date.now();
  let guest: Guest;
  try {
    guest = await Guest.boot({
      topology,
      kernelImage: kernel.image,
      kernelDescription: kernel.description,
      debugKernel: req.kernel.flavour === "debug",
      runDir,
      append: req.append,
      onConsole: (c) => watch.feed(c),
      log: req.log,
    });
  } catch (e) {
    await done({
      suite: `boot@${topology.name}`,
      name: "guest-ready",
      status: "fail",
      durationMs: Date.now() - bootStart,
      message: (e as Error).message,
      findings: [...findings],
    });
    return;
  }
  req.log(
    `lab: ${topology.name} guest ready in ${(guest.bootMs / 1000).toFixed(1)} s`,
  );
  const series = req.kernel.series;
  const details: Record<string, unknown> = {};
  const ctx: SuiteContext = {
    exec: (cmd, opts) => guest.ssh.exec(cmd, opts),
    devices: guest.devices,
    topology,
    kernel: kernel.description,
    profile: await seriesProfile(series),
    repo: REPO_DIR,
    deno: GUEST_DENO,
    record: (d) => Object.assign(details, d),
  };
  try {
    for (const suite of suites) {
      for (const test of suite.tests) {
        const id = `${suite.name}/${test.name}`;
        for (const k of Object.keys(details)) delete details[k];
        const started = Date.now();
        let status: TestResult["status"] = "pass";
        let message: string | undefined, skipReason: string | undefined;
        if (!guest.alive) {
          status = "fail";
          message = guest.hung ? "guest hung earlier in the run" : "guest died earlier in the run";
        } else {
          await guest.mark(`famfs-lab: test-begin ${id}`);
          try {
            const r = await withTimeout(
              test.run(ctx),
              test.timeoutMs ?? guest.timeouts.hangMs,
              id,
            );
            if (r && "skip" in r) {
              status = "skip";
              skipReason = r.skip;
            }
          } catch (e) {
            status = "fail";
            message = (e as Error).message;
          }
          if (guest.alive) {
            await guest.mark(`famfs-lab: test-end ${id}`).catch(() => {});
            // Let the console catch up with the end marker before attributing findings.
            const until = Date.now() + 5000;
            while (!markers.includes(id) && Date.now() < until && guest.alive) {
              await new Promise((r) => setTimeout(r, 20));
            }
          }
        }
        const own = findings.filter((f) => f.test === id);
        if (own.length > 0 && !test.expectFindings && status !== "fail") {
          status = "fail";
          message = `kernel reported during the test: ${own.map((f) => `${f.kind}: ${f.firstLine}`).join("; ")}`;
        }
        await done({
          suite: `${suite.name}@${topology.name}`,
          name: test.name,
          status,
          durationMs: Date.now() - started,
          message,
          skipReason,
          findings: own,
          details: Object.keys(details).length ? { ...details } : undefined,
        });
      }
    }
  } finally {
    await guest.stop();
    watch.end();
  }
  const outside = findings.filter((f) => f.test === null);
  await done({
    suite: `boot@${topology.name}`,
    name: "kernel-log-outside-tests",
    status: outside.length === 0 ? "pass" : "fail",
    durationMs: 0,
    message: outside.length ? outside.map((f) => `${f.kind}: ${f.firstLine}`).join("; ") : undefined,
    findings: outside,
    details: { bootMs: guest.bootMs },
  });
}

export function newRunId(command: string): string {
  return `${new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z")}-${command}`;
}

export interface RunOutcome {
  dir: string;
  results: TestResult[];
}

/** Runs the chosen suites on every topology of the request; reports are current after each test. */
export async function runSuites(req: RunRequest): Promise<RunOutcome> {
  const suites = selectSuites(req.suites);
  const runId = req.runId ?? newRunId("run");
  const dir = `${REPO_DIR}/reports/${runId}`;
  const started = new Date();
  const kernel = await req.kernelBuild(req);
  const topologies = await Promise.all(req.topology.split(",").map((t) => loadTopology(t)));
  const results: TestResult[] = [];
  const save = async (r: TestResult) => {
    results.push(r);
    req.log(
      `${r.status === "pass" ? "ok" : r.status === "skip" ? "skip" : "FAIL"} ${r.suite} ${r.name}` +
        (r.message ? `: ${r.message.split("\n")[0]}` : r.skipReason ? `: ${r.skipReason}` : ""),
    );
    await writeRunReports(
      dir,
      buildSummary({
        runId,
        kernel: kernel.description,
        topology: topologies.map((t) => t.name).join(","),
        startedAt: started,
        wallMs: Date.now() - started.getTime(),
        tests: results,
      }),
    );
  };
  const shard = await planShard(dir, {
    kernel: kernel.description,
    guests: topologies.map((t) => t.name),
    suites: suites.map((s) => s.name),
    shard: req.shard,
    shardWeights: req.shardWeights,
    reportsDir: `${REPO_DIR}/reports`,
  });
  for (const t of topologies) {
    const mine = suitesOn(shard, t.name, suites);
    if (mine.length > 0) await runInGuest(t, kernel, mine, req, `${dir}/${t.name}`, save);
  }
  return { dir, results };
}
