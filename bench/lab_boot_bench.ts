// Boot benchmark: `lab exec -t bare -- true` (boot, SSH ready, run, shut down) against a bare
// QEMU boot of the same kernel whose init powers off at once, alternated in one run.
// Goal: median ratio <= 1.5.
import { LAB_CLI, REPO_DIR } from "../lab/cache.ts";
import { buildKernel } from "../lab/kernel.ts";
import { renderQemuArgs } from "../lab/qemu_args.ts";
import { TEST_KERNELS } from "../lab/test_kernels.ts";
import { loadTopology } from "../lab/topology.ts";
import { chooseAccel } from "../lab/accel.ts";
import type { Phase } from "../lab/phases.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timed(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `${cmd} failed: ${new TextDecoder().decode(r.stderr).slice(-2000)}`,
    );
  }
  return (performance.now() - t0) / 1000;
}

const kernel = await buildKernel(TEST_KERNELS.default, (l) => console.error(l));
const { accel } = await chooseAccel({ kernelImage: kernel.image, log: (l) => console.error(l) });
const tmp = await Deno.makeTempDir({ prefix: "famfs-lab-bench-" });
try {
  // The same machine as the lab's bare topology; only the init differs.
  const bare = renderQemuArgs({
    topology: await loadTopology("bare"),
    kernel: kernel.image,
    runDir: tmp,
    init: `${REPO_DIR}/bench/bare-init.sh`,
    sshPort: 10000 + (Deno.pid % 20000),
    accel,
  });
  const bareTimes: number[] = [], labTimes: number[] = [];
  // Phase name -> its duration in each round (from the phases.json `lab exec` leaves in its run folder).
  const phaseMs = new Map<string, number[]>();
  for (let i = 0; i < ROUNDS; i++) {
    bareTimes.push(await timed(bare[0], bare.slice(1)));
    labTimes.push(
      await timed(Deno.execPath(), [
        ...LAB_CLI,
        "exec",
        "-t",
        "bare",
        "--kernel",
        kernel.image,
        "--profile",
        kernel.famfs.profile ?? "none",
        "--run-id",
        `bench-${i}`,
        "--",
        "true",
      ]),
    );
    const { phases } = JSON.parse(
      await Deno.readTextFile(`${REPO_DIR}/reports/bench-${i}/bare/phases.json`),
    ) as { phases: Phase[] };
    for (const p of phases) phaseMs.set(p.name, [...phaseMs.get(p.name) ?? [], p.ms]);
    console.error(
      `round ${i + 1}: bare ${bareTimes.at(-1)!.toFixed(2)} s, lab exec ${labTimes.at(-1)!.toFixed(2)} s`,
    );
  }
  const b = median(bareTimes), l = median(labTimes);
  console.log("boot: lab exec phases (median s; 'stop' holds the poweroff phases):");
  for (const [name, ms] of phaseMs) console.log(`  ${name.padEnd(22)} ${(median(ms) / 1000).toFixed(2)}`);
  console.log(
    `boot: bare QEMU boot+poweroff median ${b.toFixed(2)} s; lab exec -- true median ${l.toFixed(2)} s`,
  );
  console.log(
    `boot: ratio lab/bare ${(l / b).toFixed(2)}x (goal <= 1.50x) over ${ROUNDS} alternating rounds, ${accel}`,
  );
} finally {
  await Deno.remove(tmp, { recursive: true });
  for (let i = 0; i < ROUNDS; i++) {
    await Deno.remove(`${REPO_DIR}/reports/bench-${i}`, { recursive: true })
      .catch(() => {});
  }
}
