// The project's test command (`deno task test`, CI's .ci/run): provision, build the kernels
// the integration tests boot (with progress, outside any test timeout), run every test once,
// and end with the plain "N passed, N failed, N skipped" line.
import { REPO_DIR } from "./cache.ts";
import { buildKernel } from "./kernel.ts";
import { provision } from "./provision.ts";
import { TEST_KERNELS } from "./test_kernels.ts";
import { reapOrphans } from "./vm.ts";

const log = (l: string) => console.error(l);

export const TEST_PERMISSIONS = [
  "--no-prompt",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
  "--allow-net",
];

/** Counts from Deno's JUnit report: <testsuites tests= failures= errors= ignored=>. */
export function junitCounts(
  xml: string,
): { passed: number; failed: number; skipped: number } {
  const head = xml.match(/<testsuites\b[^>]*>/)?.[0] ?? "";
  const n = (attr: string) => Number(head.match(new RegExp(`\\b${attr}="(\\d+)"`))?.[1] ?? 0);
  const failed = n("failures") + n("errors");
  const skipped = n("ignored") + n("skipped");
  return { passed: n("tests") - failed - skipped, failed, skipped };
}

if (import.meta.main) {
  const started = Date.now();
  await provision(log);
  await reapOrphans(log);
  for (const [name, req] of Object.entries(TEST_KERNELS)) {
    const k = await buildKernel(req, log);
    log(
      `test kernel ${name}: ${k.description}${
        k.cached ? " (cached)" : ` (built in ${Math.round(k.buildMs / 1000)} s)`
      }`,
    );
  }
  const junit = `${REPO_DIR}/reports/tests/junit.xml`;
  await Deno.mkdir(`${REPO_DIR}/reports/tests`, { recursive: true });
  const test = new Deno.Command(Deno.execPath(), {
    args: ["test", ...TEST_PERMISSIONS, `--junit-path=${junit}`, ...Deno.args],
    cwd: REPO_DIR,
    stdout: "inherit",
    stderr: "inherit",
  });
  const status = await test.output();
  let counts = { passed: 0, failed: 1, skipped: 0 };
  try {
    counts = junitCounts(await Deno.readTextFile(junit));
  } catch {
    log(
      `test: no JUnit report at ${junit}: deno test did not get to run the tests`,
    );
  }
  if (!status.success && counts.failed === 0) counts.failed = 1;
  log(`test: wall ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(
    `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
  );
  Deno.exit(status.success ? 0 : 1);
}
