// Integration: real QEMU guests (TCG here), real SSH, real DAX devices, real console watch.
import assert from "node:assert/strict";
import { LAB_CLI, REPO_DIR } from "./cache.ts";
import { buildKernel, type Kernel } from "./kernel.ts";
import { ConsoleWatch } from "./kmsg.ts";
import { Qmp } from "./qmp.ts";
import { TEST_KERNELS } from "./test_kernels.ts";
import { loadTopology } from "./topology.ts";
import { GuestShell } from "./ssh.ts";
import { Guest, PRIVATE_KEYS } from "./vm.ts";

let kernel: Kernel | null = null;
async function defaultKernel(): Promise<Kernel> {
  kernel ??= await buildKernel(TEST_KERNELS.default, () => {});
  return kernel;
}

async function runDir(name: string): Promise<string> {
  const d = `${REPO_DIR}/reports/tests/${name}-${Date.now()}`;
  await Deno.mkdir(d, { recursive: true });
  return d;
}

async function qemuProcessesFor(dir: string): Promise<number> {
  const ps = await new Deno.Command("ps", { args: ["-eww", "-o", "args="] }).output();
  return new TextDecoder().decode(ps.stdout).split("\n").filter((l) => /qemu-system-x86_64 /.test(l) && l.includes(dir))
    .length;
}

const opts = { sanitizeOps: false, sanitizeResources: false };

async function bootBare(dir: string, hangMs?: number): Promise<Guest> {
  const k = await defaultKernel();
  return await Guest.boot({
    topology: await loadTopology("bare"),
    kernelImage: k.image,
    kernelDescription: k.description,
    debugKernel: false,
    runDir: dir,
    hangMs,
  });
}

Deno.test({
  name: "default topology: pmem and CXL devdax in the guest, console watch attributes a WARN, clean stop",
  ...opts,
  async fn() {
    const k = await defaultKernel();
    const dir = await runDir("vm-default");
    const watch = new ConsoleWatch();
    const g = await Guest.boot({
      topology: await loadTopology("default"),
      kernelImage: k.image,
      kernelDescription: k.description,
      debugKernel: false,
      runDir: dir,
      onConsole: (c) => watch.feed(c),
    });
    try {
      assert.deepEqual(g.devices.map((d) => [d.id, d.driver]), [[
        "pmem0",
        "device_dax",
      ], ["region0", "device_dax"]]);
      for (const d of g.devices) {
        assert.match(d.path, /^\/dev\/dax\d+\.\d+$/);
        assert.equal(
          (await g.ssh.exec(`test -c ${d.path}`)).code,
          0,
          `${d.path} is a char device`,
        );
      }
      const r = await g.ssh.exec("echo out; echo err >&2; exit 3");
      assert.deepEqual([r.code, r.stdout, r.stderr], [3, "out\n", "err\n"]);

      await g.mark("famfs-lab: test-begin selftest/warn");
      await g.ssh.exec("echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT");
      await g.mark("famfs-lab: test-end selftest/warn");
      const until = Date.now() + 10_000;
      while (
        watch.currentTest !== null ||
        !g.consoleText.includes("test-end selftest/warn")
      ) {
        assert.ok(Date.now() < until, "end marker reached the console");
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 200));
      const warn = watch.findings.find((f) => f.kind === "warning");
      assert.ok(
        warn,
        `a WARNING finding (got ${JSON.stringify(watch.findings.map((f) => f.firstLine))})`,
      );
      assert.equal(warn.test, "selftest/warn");
    } finally {
      await g.stop();
    }
    assert.equal(await qemuProcessesFor(dir), 0, "no QEMU left");
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    for (
      const kept of ["console.log", "repro.sh", "devices.txt", "topology.json"]
    ) assert.ok(left.includes(kept), kept);
    for (const gone of ["qmp.sock", "qemu.pid", "pmem0.img"]) {
      assert.ok(!left.includes(gone), `${gone} removed`);
    }
    assert.match(
      await Deno.readTextFile(`${dir}/console.log`),
      /reboot: Power down/,
    );
  },
});

Deno.test({
  name: "repro.sh boots the same guest by hand, with new SSH keys: the run's keys left with its guest",
  ...opts,
  async fn() {
    const dir = await runDir("vm-repro");
    const g = await bootBare(dir);
    await g.stop();
    for (const k of PRIVATE_KEYS) {
      assert.equal(await Deno.stat(`${dir}/${k}`).then(() => true, () => false), false, `${k} removed at stop`);
    }
    // The old console says "ready" too: wait for the repro guest's own.
    await Deno.writeTextFile(`${dir}/console.log`, "");
    const repro = new Deno.Command("sh", {
      args: [`${dir}/repro.sh`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const until = Date.now() + 120_000;
      while (
        !(await Deno.readTextFile(`${dir}/console.log`).catch(() => ""))
          .includes("famfs-lab: ready")
      ) {
        assert.ok(Date.now() < until, "repro guest reached ready");
        await new Promise((r) => setTimeout(r, 200));
      }
      const port = Number((await Deno.readTextFile(`${dir}/repro.sh`)).match(/-p (\d+) root@/)![1]);
      const shell = await GuestShell.whenReady(
        {
          port,
          privateKey: await Deno.readTextFile(`${dir}/id_ed25519`),
          hostPublicKey: await Deno.readTextFile(`${dir}/ssh_host_ed25519_key.pub`),
        },
        60_000,
        () => true,
      );
      assert.equal(
        (await shell.exec("cat /run/lab/authorized_keys")).stdout,
        await Deno.readTextFile(`${dir}/id_ed25519.pub`),
      );
      shell.close();
    } finally {
      repro.kill("SIGKILL");
      await repro.status;
    }
    assert.equal(await qemuProcessesFor(dir), 0);
  },
});

Deno.test({
  name: "a silent console is a hang: registers captured, QEMU killed",
  ...opts,
  async fn() {
    const dir = await runDir("vm-hang");
    const g = await bootBare(dir, 4000);
    try {
      // Pausing every vCPU silences the console as a hard hang would.
      const q = await Qmp.connect(`${dir}/qmp.sock`, 2000);
      await q.command("stop");
      await q.close();
      await g.wait();
      assert.ok(g.hung, "the hang watch fired");
    } finally {
      await g.stop();
    }
    assert.match(await Deno.readTextFile(`${dir}/hang-registers.txt`), /RIP=/);
    assert.equal(await qemuProcessesFor(dir), 0);
  },
});

/** Starts `lab exec -t pmem -- sleep 600` and returns once its guest is running the command. */
async function labExecSleeping(runId: string): Promise<{ lab: Deno.ChildProcess; dir: string }> {
  const k = await defaultKernel();
  const dir = `${REPO_DIR}/reports/${runId}/pmem`;
  const kernel = ["--kernel", k.image, "--profile", "ref"];
  const lab = new Deno.Command(Deno.execPath(), {
    args: [...LAB_CLI, "exec", "-t", "pmem", ...kernel, "--run-id", runId, "--", "sleep", "600"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const until = Date.now() + 180_000;
  while (!(await Deno.readTextFile(`${dir}/console.log`).catch(() => "")).includes("famfs-lab: ready")) {
    assert.ok(Date.now() < until, "guest reached ready");
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 2000)); // the command is running over SSH by now
  assert.equal(await qemuProcessesFor(dir), 1);
  return { lab, dir };
}

Deno.test({
  name: "Ctrl-C (SIGINT) of `lab exec` kills its guest and removes its temp files; console and repro.sh stay",
  ...opts,
  async fn() {
    const { lab, dir } = await labExecSleeping(`tests/sigint-${Date.now()}`);
    lab.kill("SIGINT");
    assert.equal((await lab.status).code, 130);
    assert.equal(await qemuProcessesFor(dir), 0, "QEMU killed");
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    for (const gone of ["pmem0.img", "pmem1.img", "qmp.sock", "qemu.pid"]) {
      assert.ok(!left.includes(gone), `${gone} removed`);
    }
    for (const kept of ["console.log", "repro.sh"]) assert.ok(left.includes(kept), `${kept} kept`);
  },
});

Deno.test({
  name: "a lab process killed with SIGKILL leaves its QEMU registered; `lab clean` kills it",
  ...opts,
  async fn() {
    const { lab, dir } = await labExecSleeping(`tests/sigkill-${Date.now()}`);
    lab.kill("SIGKILL");
    await lab.status;
    assert.equal(await qemuProcessesFor(dir), 1, "QEMU outlives a SIGKILLed lab");
    // Any lab command reaps orphans (another lab process on this machine may get there first).
    const clean = await new Deno.Command(Deno.execPath(), { args: [...LAB_CLI, "clean"], stderr: "null" }).output();
    assert.equal(clean.code, 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await qemuProcessesFor(dir), 0);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    for (const gone of ["pmem0.img", "pmem1.img", "qmp.sock", "qemu.pid"]) {
      assert.ok(!left.includes(gone), `${gone} removed`);
    }
  },
});
