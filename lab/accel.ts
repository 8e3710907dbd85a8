// The accelerator guests run under: KVM only where a short probe boot of the lab's kernel under
// KVM prints on its console (a /dev/kvm that opens is not enough: some hosts abort at vCPU setup
// or never run a guest instruction). The verdict is cached per machine, host kernel and QEMU.
import { $ } from "zx";
import { cacheDir } from "./cache.ts";
import {
  type Accel,
  type AccelVerdict,
  hostKey,
  judgeProbe,
  parseAccelCache,
  type ProbeHost,
  type ProbeOutcome,
} from "./accel_verdict.ts";
import { QEMU, renderQemuArgs } from "./qemu_args.ts";
import { loadTopology } from "./topology.ts";

/** KVM prints the first console line well under a second after start; TCG on a busy host takes seconds more. */
export const PROBE_TIMEOUT_MS = 10_000;

const cacheFile = () => `${cacheDir()}/accel.json`;

async function probeHost(): Promise<ProbeHost> {
  const version = await $({ quiet: true })`${QEMU} --version`;
  return {
    machineId: (await Deno.readTextFile("/etc/machine-id").catch(() => Deno.hostname())).trim(),
    hostKernel: Deno.osRelease(),
    qemuVersion: version.stdout.split("\n")[0].trim(),
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Boots the lab's machine (the bare topology) under KVM until the console shows output or time runs out. */
export async function probeKvm(kernelImage: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "famfs-lab-accel-" });
  const argv = renderQemuArgs({
    topology: await loadTopology("bare"),
    kernel: kernelImage,
    runDir: dir,
    init: "/bin/true",
    sshPort: freePort(),
    accel: "kvm",
    // The lab's command line is quiet; the probe wants the kernel's first lines.
    append: ["loglevel=7"],
  });
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  const stderr = new Response(child.stderr).text();
  const end: { code: number | null } = { code: null };
  const status = child.status.then((s) => (end.code = s.code));
  const started = Date.now();
  const consoleText = () => Deno.readTextFile(`${dir}/console.log`).catch(() => "");
  try {
    while (end.code === null && Date.now() - started < timeoutMs && (await consoleText()).trim() === "") {
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = Date.now() - started;
    const stoppedByProbe = end.code === null;
    if (stoppedByProbe) child.kill("SIGKILL");
    await status;
    return {
      console: await consoleText(),
      stderr: await stderr,
      exitCode: stoppedByProbe ? null : end.code,
      ms,
      timeoutMs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const chosen = new Map<string, Promise<AccelVerdict>>();

/**
 * The accelerator for this process's guests: --accel if given, else the cached verdict for this
 * host, else a probe boot of `kernelImage` (then cached). Logs one line with the reason, once.
 */
export function chooseAccel(
  opts: { kernelImage: string; override?: Accel; log: (line: string) => void },
): Promise<AccelVerdict> {
  const memo = opts.override ?? "probe";
  if (!chosen.has(memo)) {
    chosen.set(
      memo,
      decide(opts).then((v) => {
        opts.log(`lab: accelerator ${v.accel}: ${v.why}`);
        return v;
      }),
    );
  }
  return chosen.get(memo)!;
}

async function decide(opts: { kernelImage: string; override?: Accel }): Promise<AccelVerdict> {
  if (opts.override) return { accel: opts.override, why: `--accel ${opts.override} given` };
  const known = await cachedVerdict();
  if (known) return known;
  const verdict = judgeProbe(await probeKvm(opts.kernelImage));
  const host = hostKey(await probeHost());
  const cache = parseAccelCache(await Deno.readTextFile(cacheFile()).catch(() => ""));
  cache[host] = { ...verdict, probedAt: new Date().toISOString() };
  await Deno.mkdir(cacheDir(), { recursive: true });
  await Deno.writeTextFile(cacheFile(), JSON.stringify(cache, null, 2) + "\n");
  return verdict;
}

/** The verdict cached for this host, without probing (e.g. for --dry-run). */
export async function cachedVerdict(): Promise<AccelVerdict | null> {
  const cache = parseAccelCache(await Deno.readTextFile(cacheFile()).catch(() => ""));
  const hit = cache[hostKey(await probeHost())];
  return hit ? { accel: hit.accel, why: `${hit.why} (probed ${hit.probedAt}; cached in ${cacheFile()})` } : null;
}
