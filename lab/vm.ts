// A running QEMU guest: run folder, QEMU process, console follower, SSH, QMP, shutdown and
// cleanup. Everything a run needs to be repeated by hand is left in the run folder (repro.sh).
import { $ } from "zx";
import { chooseAccel } from "./accel.ts";
import type { Accel } from "./accel_verdict.ts";
import { cacheDir, exists, processArgs, REPO_DIR } from "./cache.ts";
import { type GuestDevice, parseDevices, renderSetupScript, renderSshdConfig } from "./guest_setup.ts";
import { Qmp } from "./qmp.ts";
import { renderQemuArgs, shellQuote } from "./qemu_args.ts";
import type { PhaseClock } from "./phases.ts";
import { GuestShell } from "./ssh.ts";
import type { Topology } from "./topology.ts";

export const GUEST_INIT = `${REPO_DIR}/vm-images/guest/init.sh`;

export class GuestError extends Error {
  constructor(message: string, readonly runDir: string) {
    super(
      `${message}\n  console log: ${runDir}/console.log\n  reproduce: ${runDir}/repro.sh`,
    );
    this.name = "GuestError";
  }
}

export interface Timeouts {
  bootMs: number;
  /** Console silence (the guest prints a heartbeat every 10 s) that counts as a hang. */
  hangMs: number;
  shutdownMs: number;
  /** How much slower than a KVM guest of the base flavour (test time limits scale by it). */
  scale: number;
}

/** Timeouts measured under KVM-like speed, scaled for TCG and for the slow debug kernels. */
export function timeouts(accel: Accel, debugKernel: boolean): Timeouts {
  const scale = (accel === "tcg" ? 4 : 1) * (debugKernel ? 4 : 1);
  return {
    bootMs: 30_000 * scale,
    hangMs: 45_000 * scale,
    shutdownMs: 10_000 * scale,
    scale,
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Registry of this process's guests, so that a signal or a crash path can kill them all. */
const live = new Set<Guest>();
let handlersInstalled = false;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(sig, () => {
      console.error(`\nlab: ${sig}: stopping ${live.size} guest(s)`);
      for (const g of live) g.killNow();
      Deno.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/** The run's SSH private keys: the guest's sshd reads its host key from the run folder (9p). */
export const PRIVATE_KEYS = ["id_ed25519", "ssh_host_ed25519_key"] as const;

/** What a guest leaves in its run folder that is scratch, not a result. */
export function runTempFiles(runDir: string, topology: Topology): string[] {
  // Non-shared pmem backing files are per-run scratch (sparse but up to GiBs).
  const images = topology.pmem.filter((p) => !p.shared && !p.backing).map((p) => `${runDir}/${p.id}.img`);
  // Private keys go with the guest, so report folders can be published; repro.sh makes new ones.
  const keys = PRIVATE_KEYS.map((k) => `${runDir}/${k}`);
  return [`${runDir}/qmp.sock`, `${runDir}/qemu.pid`, ...images, ...keys];
}

/** Kills QEMU processes left by a lab process that died without cleaning up (e.g. SIGKILL). */
export async function reapOrphans(log: (l: string) => void): Promise<number> {
  const dir = `${cacheDir()}/running`;
  if (!await exists(dir)) return 0;
  let reaped = 0;
  for (const e of Deno.readDirSync(dir)) {
    const rec = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)) as {
      lab: number;
      qemu: number;
      runDir: string;
    };
    if (await processArgs(rec.lab) !== null) continue;
    if ((await processArgs(rec.qemu))?.includes(rec.runDir)) {
      Deno.kill(rec.qemu, "SIGKILL");
      const topology = JSON.parse(await Deno.readTextFile(`${rec.runDir}/topology.json`)) as Topology;
      for (const f of runTempFiles(rec.runDir, topology)) await Deno.remove(f).catch(() => {});
      reaped++;
      log(`lab: killed orphaned QEMU ${rec.qemu} of ${rec.runDir}`);
    }
    await Deno.remove(`${dir}/${e.name}`);
  }
  return reaped;
}

export interface BootOptions {
  topology: Topology;
  kernelImage: string;
  kernelDescription: string;
  debugKernel: boolean;
  runDir: string;
  append?: string[];
  onConsole?: (chunk: string) => void;
  log?: (line: string) => void;
  /** Overrides the console silence that counts as a hang (tests use a short one). */
  hangMs?: number;
  /** --accel: skip the KVM probe. */
  accel?: Accel;
  /** Index of this guest on a multi-host topology (0: host-a, which sets the shared media up). */
  host?: number;
  /** Times the boot's phases (and the stop's) when given. */
  phases?: PhaseClock;
}

export class Guest {
  ssh!: GuestShell;
  devices: GuestDevice[] = [];
  bootMs = 0;
  hung = false;
  /** The hang watch starts once the guest is up; boot has its own timeout. */
  #watchHang = false;
  #child: Deno.ChildProcess;
  #exited = false;
  #status: Promise<Deno.CommandStatus>;
  #lastOutput = Date.now();
  #console = "";
  #listeners: ((chunk: string) => void)[] = [];
  #stopFollow = false;
  #follow: Promise<void>;
  #registry: string;

  private constructor(
    readonly opts: BootOptions,
    readonly argv: string[],
    readonly timeouts: Timeouts,
  ) {
    this.#child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    if (opts.onConsole) this.#listeners.push(opts.onConsole);
    this.#follow = this.#followConsole();
    this.#registry = `${cacheDir()}/running/${this.#child.pid}.json`;
    live.add(this);
  }

  get alive(): boolean {
    return !this.#exited;
  }

  get consoleText(): string {
    return this.#console;
  }

  onConsole(f: (chunk: string) => void): void {
    this.#listeners.push(f);
  }

  static async boot(opts: BootOptions): Promise<Guest> {
    installSignalHandlers();
    const time = <T>(name: string, f: () => Promise<T>) => opts.phases ? opts.phases.time(name, f) : f();
    const runDir = opts.runDir;
    // The accelerator verdict (cached) and the run folder's files do not depend on each other.
    const [{ accel }, port] = await Promise.all([
      time("accel", () =>
        chooseAccel({
          kernelImage: opts.kernelImage,
          override: opts.accel,
          log: opts.log ?? console.error,
        })),
      time("run-folder", () => prepareRunFolder(runDir, opts.topology, opts.host ?? 0)),
    ]);
    const argv = renderQemuArgs({
      topology: opts.topology,
      kernel: opts.kernelImage,
      runDir,
      init: GUEST_INIT,
      sshPort: port,
      accel,
      append: opts.append,
    });
    await writeRepro(runDir, argv, opts, port);
    const t = timeouts(accel, opts.debugKernel);
    const started = Date.now();
    const g = new Guest(opts, argv, { ...t, hangMs: opts.hangMs ?? t.hangMs });
    await Deno.mkdir(`${cacheDir()}/running`, { recursive: true });
    await Deno.writeTextFile(
      g.#registry,
      JSON.stringify({ lab: Deno.pid, qemu: g.#child.pid, runDir }),
    );
    try {
      await time("boot-to-init-ready", () =>
        g.#waitFor(
          /famfs-lab: ready /,
          g.timeouts.bootMs,
          "the guest init to report ready",
        ));
      const key = await Deno.readTextFile(`${runDir}/id_ed25519`);
      const hostKey = await Deno.readTextFile(
        `${runDir}/ssh_host_ed25519_key.pub`,
      );
      g.ssh = await time("ssh-ready", () =>
        GuestShell.whenReady(
          { port, privateKey: key, hostPublicKey: hostKey },
          g.timeouts.bootMs,
          () => g.alive,
        ));
      g.bootMs = Date.now() - started;
      g.#watchHang = true;
      g.devices = parseDevices(
        await Deno.readTextFile(`${runDir}/devices.txt`),
      );
      const failures = [...g.#console.matchAll(/famfs-lab: setup-failed (.*)/g)]
        .map((m) => m[1]);
      if (failures.length > 0) {
        throw new GuestError(
          `DAX setup failed in the guest: ${failures.join("; ")}`,
          runDir,
        );
      }
    } catch (e) {
      await g.stop();
      throw e;
    }
    return g;
  }

  async #followConsole(): Promise<void> {
    const path = `${this.opts.runDir}/console.log`;
    const dec = new TextDecoder();
    let file: Deno.FsFile | null = null;
    const buf = new Uint8Array(65536);
    const drain = async () => {
      if (!file) file = await Deno.open(path).catch(() => null);
      if (!file) return;
      for (;;) {
        const n = await file.read(buf);
        if (!n) return;
        const text = dec.decode(buf.subarray(0, n), { stream: true });
        this.#console += text;
        this.#lastOutput = Date.now();
        for (const l of this.#listeners) l(text);
      }
    };
    while (!this.#stopFollow) {
      await drain();
      if (
        this.#watchHang && this.alive && !this.hung &&
        Date.now() - this.#lastOutput > this.timeouts.hangMs
      ) {
        await this.#onHang();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await drain();
    (file as Deno.FsFile | null)?.close();
  }

  async #onHang(): Promise<void> {
    this.hung = true;
    const log = this.opts.log ?? console.error;
    log(
      `lab: guest console silent for ${this.timeouts.hangMs} ms: treating as a hang, capturing state`,
    );
    try {
      const q = await Qmp.connect(`${this.opts.runDir}/qmp.sock`, 2000);
      const regs = await q.command("human-monitor-command", {
        "command-line": "info registers -a",
      });
      await Deno.writeTextFile(
        `${this.opts.runDir}/hang-registers.txt`,
        String(regs),
      );
      await q.close();
    } catch (e) {
      log(`lab: could not capture registers: ${(e as Error).message}`);
    }
    this.killNow();
  }

  async #waitFor(
    re: RegExp,
    timeoutMs: number,
    what: string,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#console.match(re);
      if (m) return m;
      if (!this.alive) {
        const err = await this.#stderrText();
        throw new GuestError(
          `QEMU exited while waiting for ${what}${err ? `: ${err}` : ""}`,
          this.opts.runDir,
        );
      }
      if (Date.now() > deadline) {
        throw new GuestError(
          `timed out after ${timeoutMs} ms waiting for ${what}`,
          this.opts.runDir,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #stderr: string | null = null;
  async #stderrText(): Promise<string> {
    if (this.#stderr === null) {
      this.#stderr = (await new Response(this.#child.stderr).text().catch(() => "")).trim();
      await Deno.writeTextFile(`${this.opts.runDir}/qemu.stderr`, this.#stderr);
    }
    return this.#stderr;
  }

  /** Writes a line into the guest's kernel log (and so the console), e.g. test markers. */
  async mark(text: string): Promise<void> {
    await this.ssh.exec(`echo ${shellQuote([text])} > /dev/kmsg`);
  }

  /**
   * Powers off through sysrq, falls back to QMP quit, then SIGKILL; removes run temp files.
   * `poweroff: false` is for a guest with nothing to keep (`lab exec`: its root is the host's, over
   * 9p, and DAX backing files are shared mappings of host files): it waits only until the console
   * shows everything the guest's kernel logged so far, then quits QEMU.
   */
  async stop(opts: { poweroff?: boolean } = {}): Promise<void> {
    const phases = this.opts.phases;
    const stop = () => this.#stop(opts.poweroff ?? true);
    await (phases ? phases.time("stop", stop) : stop());
  }

  async #stop(poweroff: boolean): Promise<void> {
    const t0 = performance.now();
    if (this.alive && !poweroff) {
      await this.#consoleCaughtUp();
      this.opts.phases?.since("console-caught-up", t0);
      this.ssh?.close();
    } else if (this.alive) {
      try {
        // Asynchronous power-off: the guest init stays alive, so no false "kill init" panic.
        await this.ssh?.exec("sync; echo o > /proc/sysrq-trigger", {
          timeoutMs: 5000,
        });
      } catch { /* guest may already be gone */ }
      this.opts.phases?.since("poweroff-request", t0);
      this.ssh?.close();
      await Promise.race([
        this.#status,
        new Promise((r) => setTimeout(r, this.timeouts.shutdownMs)),
      ]);
      this.opts.phases?.since("poweroff-to-qemu-exit", t0);
    }
    if (this.alive) {
      try {
        const q = await Qmp.connect(`${this.opts.runDir}/qmp.sock`, 2000);
        await q.command("quit").catch(() => {});
        await q.close();
        await Promise.race([
          this.#status,
          new Promise((r) => setTimeout(r, 5000)),
        ]);
      } catch { /* fall through to kill */ }
    }
    this.killNow();
    await this.#status;
    await this.#stderrText();
    this.#stopFollow = true;
    await this.#follow;
    await this.#cleanup();
  }

  /** Logs a line in the guest and waits (briefly) until the console shows it: the log before it is in console.log. */
  async #consoleCaughtUp(): Promise<void> {
    const line = `famfs-lab: console-check ${crypto.randomUUID()}`;
    try {
      await this.ssh?.exec(`echo '${line}' > /dev/kmsg`, { timeoutMs: 5000 });
      await this.#waitFor(new RegExp(line), 5000, "the console to catch up");
    } catch { /* a guest that died or hung has nothing more to print */ }
  }

  /** Synchronous last resort (signal handlers): SIGKILL QEMU and drop temp files. */
  killNow(): void {
    if (this.alive) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    this.ssh?.close();
    for (const f of this.#tempFiles()) {
      try {
        Deno.removeSync(f);
      } catch { /* already gone */ }
    }
    live.delete(this);
  }

  #tempFiles(): string[] {
    return [...runTempFiles(this.opts.runDir, this.opts.topology), this.#registry];
  }

  async #cleanup(): Promise<void> {
    for (const f of this.#tempFiles()) await Deno.remove(f).catch(() => {});
    live.delete(this);
  }

  async wait(): Promise<Deno.CommandStatus> {
    return await this.#status;
  }
}

/** Writes the files the guest reads at boot (keys, sshd config, setup script); returns a free SSH port. */
async function prepareRunFolder(runDir: string, topology: Topology, host: number): Promise<number> {
  await Deno.mkdir(runDir, { recursive: true });
  // A reused --run-id: the console follower must not read the old console (QEMU truncates it later).
  await Deno.remove(`${runDir}/console.log`).catch(() => {});
  // A reused --run-id keeps old keys; ssh-keygen would stop to ask before overwriting them.
  await Promise.all(
    [["id_ed25519", "famfs-lab-client"], ["ssh_host_ed25519_key", "famfs-lab-guest"]].map(async ([key, comment]) => {
      for (const ext of ["", ".pub"]) await Deno.remove(`${runDir}/${key}${ext}`).catch(() => {});
      await $({ quiet: true, stdin: "ignore" })`ssh-keygen -q -t ed25519 -N ${""} -C ${comment} -f ${runDir}/${key}`;
    }),
  );
  await Promise.all([
    Deno.copyFile(`${runDir}/id_ed25519.pub`, `${runDir}/authorized_keys`),
    Deno.writeTextFile(`${runDir}/sshd_config`, renderSshdConfig()),
    Deno.writeTextFile(`${runDir}/setup.sh`, renderSetupScript(topology, host)),
    Deno.writeTextFile(`${runDir}/topology.json`, JSON.stringify(topology, null, 2) + "\n"),
  ]);
  return freePort();
}

async function writeRepro(
  runDir: string,
  argv: string[],
  opts: BootOptions,
  port: number,
): Promise<void> {
  const keygen = PRIVATE_KEYS.map((k) =>
    `rm -f ${k} ${k}.pub; ssh-keygen -q -t ed25519 -N '' -C famfs-lab-repro -f ${k}`
  ).join("\n");
  const text = `#!/bin/sh
# Boots the guest of this run again by hand.
#   kernel:   ${opts.kernelDescription}
#   topology: ${opts.topology.name}${
    opts.topology.hosts > 1
      ? `, host ${(opts.host ?? 0) + 1} of ${opts.topology.hosts}` +
        "\n# The hosts share the pmem backing file (QEMU makes it anew if it is gone): run host-a's repro.sh" +
        '\n# first, the others\' once its console shows "famfs-lab: ready" (host-a sets the namespace up).'
      : ""
  }
# The serial console goes to ./console.log (follow it with: tail -f console.log).
# Log in when "famfs-lab: ready" appears:
#   ssh -i ./id_ed25519 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p ${port} root@127.0.0.1
# Stop: echo o > /proc/sysrq-trigger in the guest, or kill the QEMU process.
# The run's SSH private keys were deleted when its guest stopped (report folders get published);
# this makes new ones.
set -e
cd "$(dirname "$0")"
${keygen}
cp id_ed25519.pub authorized_keys
: > console.log
exec ${shellQuote(argv)}
`;
  await Deno.writeTextFile(`${runDir}/repro.sh`, text, { mode: 0o755 });
}
