// famfs-lab: one CLI over small modules. It parses options, then wires provisioning, kernel
// builds, guests and suites together; all the work lives in the modules it calls.
import { REPO_DIR } from "./cache.ts";
import { buildKernel, type Kernel, KernelBuildError } from "./kernel.ts";
import { type LabOptions, parseOptions, UsageError } from "./options.ts";
import { PatchApplyError, SeriesError } from "./patches.ts";
import { provision, ProvisionError } from "./provision.ts";
import { QmpError } from "./qmp.ts";
import { renderQemuArgs, shellQuote } from "./qemu_args.ts";
import { SshError } from "./ssh.ts";
import { loadTopology, TopologyError } from "./topology.ts";
import { Guest, GUEST_INIT, GuestError, hostAccel, reapOrphans } from "./vm.ts";
import { famfsLine, newRunId, type RunOutcome, runSuites, UnknownSuiteError } from "./run.ts";
import { runSensitivity } from "./sensitivity.ts";
import { countLine, countResults } from "./report/result.ts";

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
  clean      kill QEMU processes orphaned by a lab process that died

Options:
  -t, --topology NAME|FILE  DAX topology (vm-images/topologies/NAME.json); run takes a comma list
                            (default: pmem,cxl for run and sensitivity, default otherwise)
      --suite NAME          suite to run (repeatable; default: all)
      --kernel IMAGE        boot a prebuilt bzImage
      --kernel-src DIR      build the user's kernel tree (out of tree, in DIR/build-<hash>)
      --series NAME|DIR|MBOX  patch series applied to a copy of the source
                            (a name under vm-images/series/; 'none' for the stock kernel)
      --mutant NAME         also apply vm-images/mutants/NAME.patch on top of the series
                            (sensitivity: only these mutants; repeatable there)
      --flavour base|debug  debug adds KASAN, kmemleak and lockdep
      --fragment FILE       extra kconfig fragment (repeatable)
      --append WORD         extra kernel command line word (repeatable)
      --run-id ID           name of the run folder under reports/ (default: a timestamp)
      --dry-run             print the QEMU command line instead of booting
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
  return k;
}

async function bootFor(o: LabOptions, runDir: string): Promise<Guest | null> {
  const topology = await loadTopology(o.topology);
  if (o.dryRun) {
    const argv = renderQemuArgs({
      topology,
      kernel: "<bzImage>",
      runDir,
      init: GUEST_INIT,
      sshPort: 10022,
      accel: hostAccel(),
      append: o.append,
    });
    console.log(shellQuote(argv));
    return null;
  }
  await provision(log);
  await reapOrphans(log);
  const k = await kernelFor(o);
  log(`lab: booting ${topology.name} guest (console: ${runDir}/console.log)`);
  const g = await Guest.boot({
    topology,
    kernelImage: k.image,
    kernelDescription: k.description,
    debugKernel: o.kernel.flavour === "debug",
    runDir,
    append: o.append,
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
  const g = await bootFor(o, runDir);
  if (!g) return 0;
  try {
    const r = await g.ssh.exec(shellQuote(o.rest), {
      onOutput: (s) => Deno.stdout.writeSync(new TextEncoder().encode(s)),
    });
    return r.code ?? 128;
  } finally {
    await g.stop();
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

function exitStatus(run: RunOutcome): number {
  const c = countResults(run.results);
  console.log(`reports: ${run.dir}/index.html`);
  console.log(famfsLine(run.kernel, run.notApplicable).replace(/^lab: /, ""));
  console.log(countLine(c));
  return c.failed === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (o.help || o.command === "" || o.command === "help") {
    console.log(HELP);
    return o.command === "" && !o.help ? 2 : 0;
  }
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
        return (await bootFor(o, `${REPO_DIR}/reports/<run-id>/<topology>`)) ? 1 : 0;
      }
      await provision(log);
      await reapOrphans(log);
      return exitStatus(await runSuites({ ...o, kernelBuild: kernelFor, log }));
    case "sensitivity":
      await provision(log);
      await reapOrphans(log);
      return await runSensitivity({ ...o, kernelBuild: kernelFor, log }) ? 0 : 1;
    case "clean":
      log(`lab: ${await reapOrphans(log)} orphaned QEMU process(es) killed`);
      return 0;
    default:
      throw new UsageError(`unknown command "${o.command}"`);
  }
}

if (import.meta.main) {
  const known = [
    UsageError,
    UnknownSuiteError,
    TopologyError,
    ProvisionError,
    KernelBuildError,
    PatchApplyError,
    SeriesError,
    GuestError,
    SshError,
    QmpError,
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
