// famfs-lab: one CLI over small modules. It parses options, then wires provisioning, kernel
// builds, guests and suites together; all the work lives in the modules it calls.
import { cachedVerdict } from "./accel.ts";
import { REPO_DIR } from "./cache.ts";
import { knownChoices } from "./choices.ts";
import { buildKernel, type Kernel, KernelBuildError } from "./kernel.ts";
import { checkChoices, type LabOptions, parseOptions, UsageError } from "./options.ts";
import { ProfileDetectError } from "./profile_detect.ts";
import { PatchApplyError, SeriesError } from "./patches.ts";
import { PhaseClock, renderPhases } from "./phases.ts";
import { provision, ProvisionError } from "./provision.ts";
import { QmpError } from "./qmp.ts";
import { renderQemuArgs, shellQuote } from "./qemu_args.ts";
import { SshError } from "./ssh.ts";
import { loadTopology, TopologyError } from "./topology.ts";
import { Guest, GUEST_INIT, GuestError, reapOrphans } from "./vm.ts";
import { famfsLine, hostLayout, newRunId, type RunOutcome, runSuites } from "./run.ts";
import { runSensitivity } from "./sensitivity.ts";
import { countLine, countResults, runExitCode } from "./report/result.ts";
import { cmdHistory, cmdReport, NIGHTLY_HELP } from "./nightly_cli.ts";
import { HistoryError } from "./history.ts";
import { KcidbError } from "./report/kcidb.ts";
import { MergeError } from "./report/merge.ts";
import { ShardError } from "./shard.ts";
import { compareFolders, validateSeries } from "./validate.ts";
import { noWorse, renderComparison, RunFolderError } from "./compare.ts";
import { BisectError, bisectSeries, renderBisect } from "./bisect.ts";

const HELP = `famfs-lab: QEMU lab and conformance suites for famfs over FUSE

Usage: lab <command> [options]

Commands:
  run        the main job: provision, build or reuse the kernel, boot, run suites, write reports
  shell      boot a guest and open an interactive SSH shell in it
  exec       boot a guest, run one command in it (after --), shut down; exits with its status
  kernel     build (or find in the cache) a guest kernel and print its path
  provision  install the Debian packages the lab needs (--check: only report what is missing)
  sensitivity  run the suites on the clean reference series, then on every mutant of it
             (vm-images/mutants/) suite by suite until one catches it; print the table
  validate   --series PATH|MBOX: build every prefix, checkpatch each patch, run the suites, print
             one verdict against the baseline (--baseline RUN|SERIES, default: the reference series)
  compare    RUN_A RUN_B: regressions, fixes, deviations and kernel reports new/gone (report folders)
  bisect     --series PATH --test SUITE/TEST: the first patch whose kernel fails the test
  clean      kill QEMU processes orphaned by a lab process that died
${NIGHTLY_HELP}

Options:
  -t, --topology NAME|FILE  DAX topology (vm-images/topologies/NAME.json); run takes a comma list
                            (default: pmem,cxl,multihost for run, pmem,cxl for sensitivity,
                            validate and bisect, default otherwise)
      --suite NAME          suite to run (repeatable; default: all)
      --kernel IMAGE        boot a prebuilt bzImage
      --kernel-src DIR      build the user's kernel tree (out of tree, in DIR/build-<hash>)
      --series NAME|DIR|MBOX  patch series applied to a copy of the source
                            (a name under vm-images/series/; 'none' for the stock kernel)
      --mutant NAME         also apply vm-images/mutants/NAME.patch on top of the series
                            (sensitivity: only these mutants; repeatable there)
      --flavour base|debug  debug adds KASAN, kmemleak and lockdep
      --profile ref|v3|rfc-v2|none  the famfs protocol of the kernel (default: read from the
                            built tree's fuse.h and .config; required with --kernel)
      --accel kvm|tcg       skip the KVM probe (default: KVM if a probe boot under it prints)
      --fragment FILE       extra kconfig fragment (repeatable)
      --append WORD         extra kernel command line word (repeatable)
      --run-id ID           name of the run folder under reports/ (default: a timestamp)
      --shard I/N           run only part I of N of the topology x suite matrix (nightly CI)
      --shard-weights FILE  summary.json whose durations balance the shards
                            (default: the newest complete run under reports/)
      --strict              run: deviations of the kernel's profile fail the run too
      --dry-run             run, exec, shell: print the QEMU command line instead of booting
  -h, --help                this text

Every guest leaves its console log and a repro.sh in reports/<run-id>/<topology>/.
Examples:
  lab run                                  # default topology, default kernel, all suites
  lab exec -t pmem -- ndctl list           # one command in a pmem guest
  lab shell --series ref --mutant leak-name --flavour debug
  lab exec --dry-run -t cxl -- true        # show the QEMU command line
`;

function log(line: string): void {
  console.error(line);
}

async function kernelFor(o: LabOptions): Promise<Kernel> {
  const k = await buildKernel(o.kernel, log);
  log(
    `kernel: ${k.description}${k.cached ? " (cached)" : ` (built in ${Math.round(k.buildMs / 1000)} s)`}`,
  );
  log(`kernel: famfs profile ${k.famfs.profile ?? "none"}: ${k.famfs.how}`);
  return k;
}

/**
 * --dry-run: the QEMU command line of each topology's guest, with the accelerator known so far; with
 * `allHosts` (lab run), one per guest of a multi-host topology.
 */
async function printDryRun(o: LabOptions, runDir: (topology: string) => string, allHosts = false): Promise<void> {
  const { accel, why } = o.accel ? { accel: o.accel, why: `--accel ${o.accel} given` } : await cachedVerdict() ??
    { accel: "tcg" as const, why: "KVM not probed yet (the first boot probes it)" };
  log(`lab: accelerator ${accel}: ${why}`);
  for (const name of o.topology.split(",")) {
    const topology = await loadTopology(name);
    const dirs = allHosts ? hostLayout(topology, runDir(topology.name)).dirs : [runDir(topology.name)];
    for (const dir of dirs) {
      const argv = renderQemuArgs({
        topology,
        kernel: "<bzImage>",
        runDir: dir,
        init: GUEST_INIT,
        sshPort: 10022,
        accel,
        append: o.append,
      });
      console.log(shellQuote(argv));
    }
  }
}

async function bootFor(o: LabOptions, runDir: string, phases?: PhaseClock): Promise<Guest | null> {
  if (o.dryRun) {
    await printDryRun(o, () => runDir);
    return null;
  }
  const time = <T>(name: string, f: () => Promise<T>) => phases ? phases.time(name, f) : f();
  const topology = await time("topology", () => loadTopology(o.topology));
  await time("provision-check", () => provision(log));
  await time("reap-orphans", () => reapOrphans(log));
  const k = await time("kernel-lookup", () => kernelFor(o));
  log(`lab: booting ${topology.name} guest (console: ${runDir}/console.log)`);
  const g = await Guest.boot({
    phases,
    topology,
    kernelImage: k.image,
    kernelDescription: k.description,
    debugKernel: o.kernel.flavour === "debug",
    runDir,
    append: o.append,
    accel: o.accel,
    log,
  });
  log(
    `lab: guest ready in ${(g.bootMs / 1000).toFixed(1)} s; devices: ${
      g.devices.map((d) => `${d.id}=${d.path}`).join(" ") || "none"
    }`,
  );
  return g;
}

/** reports/<run-id>/<topology name>: where one guest's files go. */
function guestRunDir(o: LabOptions, command: string): string {
  return `${REPO_DIR}/reports/${o.runId ?? newRunId(command)}/${o.topology.replace(/.*\//, "").replace(/\.json$/, "")}`;
}

async function cmdExec(o: LabOptions): Promise<number> {
  if (o.rest.length === 0 && !o.dryRun) {
    throw new UsageError(
      "exec needs a command after --, e.g. lab exec -- uname -a",
    );
  }
  const runDir = guestRunDir(o, "exec");
  // Counted from the start of the Deno runtime: the first phase is loading the lab's modules.
  const phases = new PhaseClock(0);
  phases.since("start-and-imports", 0);
  const g = await bootFor(o, runDir, phases);
  if (!g) return 0;
  try {
    const r = await phases.time("command", () =>
      g.ssh.exec(shellQuote(o.rest), {
        onOutput: (s) => Deno.stdout.writeSync(new TextEncoder().encode(s)),
      }));
    return r.code ?? 128;
  } finally {
    await g.stop({ poweroff: false });
    await Deno.writeTextFile(`${runDir}/phases.json`, renderPhases(phases));
  }
}

async function cmdShell(o: LabOptions): Promise<number> {
  const runDir = guestRunDir(o, "shell");
  const g = await bootFor(o, runDir);
  if (!g) return 0;
  try {
    const port = (await Deno.readTextFile(`${runDir}/repro.sh`)).match(
      /-p (\d+) root@/,
    )![1];
    await Deno.writeTextFile(
      `${runDir}/known_hosts`,
      `[127.0.0.1]:${port} ${await Deno.readTextFile(
        `${runDir}/ssh_host_ed25519_key.pub`,
      )}`,
    );
    const ssh = new Deno.Command("ssh", {
      args: [
        "-i",
        `${runDir}/id_ed25519`,
        "-o",
        `UserKnownHostsFile=${runDir}/known_hosts`,
        "-p",
        port,
        "root@127.0.0.1",
      ],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    });
    return (await ssh.output()).code;
  } finally {
    await g.stop();
  }
}

function exitStatus(run: RunOutcome, strict: boolean): number {
  const c = countResults(run.results);
  console.log(`reports: ${run.dir}/index.html`);
  console.log(famfsLine(run.kernel, run.notApplicable).replace(/^lab: /, ""));
  console.log(countLine(c));
  return runExitCode(c, strict);
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (o.help || o.command === "" || o.command === "help") {
    console.log(HELP);
    return o.command === "" && !o.help ? 2 : 0;
  }
  checkChoices(o, knownChoices());
  switch (o.command) {
    case "provision":
      await provision(log);
      return 0;
    case "kernel":
      console.log((await kernelFor(o)).image);
      return 0;
    case "exec":
      return await cmdExec(o);
    case "shell":
      return await cmdShell(o);
    case "run":
      if (o.dryRun) {
        await printDryRun(o, (t) => `${REPO_DIR}/reports/<run-id>/${t}`, true);
        return 0;
      }
      await provision(log);
      await reapOrphans(log);
      return exitStatus(await runSuites({ ...o, kernelBuild: kernelFor, log }), o.strict);
    case "sensitivity":
      await provision(log);
      await reapOrphans(log);
      return await runSensitivity({ ...o, kernelBuild: kernelFor, log }) ? 0 : 1;
    case "report":
      return await cmdReport(o, log);
    case "history":
      return await cmdHistory(o, log);
    case "validate":
      await provision(log);
      await reapOrphans(log);
      return (await validateSeries({ ...o, kernelBuild: kernelFor, log })).verdict.ok ? 0 : 1;
    case "compare": {
      if (o.rest.length !== 2) throw new UsageError("compare needs two run folders: lab compare RUN_A RUN_B");
      const c = await compareFolders(o.rest[0], o.rest[1]);
      console.log(renderComparison(c));
      return noWorse(c) ? 0 : 1;
    }
    case "bisect": {
      if (!o.test) throw new UsageError("bisect needs --test SUITE/TEST");
      await provision(log);
      await reapOrphans(log);
      const r = await bisectSeries({ ...o, kernelBuild: kernelFor, log }, o.test);
      console.log(renderBisect(o.test, r));
      return r.first !== null && !r.failsWithoutSeries ? 0 : 1;
    }
    case "clean":
      log(`lab: ${await reapOrphans(log)} orphaned QEMU process(es) killed`);
      return 0;
    default:
      throw new UsageError(
        `${o.command}: unknown command; commands: run, shell, exec, kernel, provision, sensitivity, clean`,
      );
  }
}

if (import.meta.main) {
  const known = [
    UsageError,
    TopologyError,
    ProvisionError,
    KernelBuildError,
    ProfileDetectError,
    PatchApplyError,
    SeriesError,
    GuestError,
    SshError,
    QmpError,
    ShardError,
    MergeError,
    KcidbError,
    HistoryError,
    RunFolderError,
    BisectError,
  ];
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (known.some((k) => e instanceof k)) {
      console.error(`lab: ${(e as Error).message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
