// summary.json of a run: a pure builder and a writer.
import { countResults, type Counts, type TestResult } from "./result.ts";

export interface RunSummary {
  runId: string;
  /** Kernel under test, e.g. "7.3.4 base" (release and config flavour). */
  kernel: string;
  /** Topology name (vm-images/topologies/<name>). */
  topology: string;
  /** ISO 8601 start time. */
  startedAt: string;
  wallMs: number;
  /** The specification verdicts were judged against. */
  specification: string;
  /** The kernel's famfs profile and how the lab found it; null: no famfs support. */
  famfs: { profile: string; how: string } | null;
  /** Suites that do not apply to this kernel at all, with the reason (reported once). */
  notApplicable: { suite: string; reason: string }[];
  counts: Counts;
  tests: TestResult[];
}

export interface SummaryInput {
  runId: string;
  kernel: string;
  topology: string;
  startedAt: Date | string;
  wallMs: number;
  specification: string;
  famfs: RunSummary["famfs"];
  notApplicable: RunSummary["notApplicable"];
  tests: readonly TestResult[];
}

export function buildSummary(input: SummaryInput): RunSummary {
  const startedAt = typeof input.startedAt === "string" ? input.startedAt : input.startedAt.toISOString();
  return {
    runId: input.runId,
    kernel: input.kernel,
    topology: input.topology,
    startedAt,
    wallMs: Math.round(input.wallMs),
    specification: input.specification,
    famfs: input.famfs,
    notApplicable: [...input.notApplicable],
    counts: countResults(input.tests),
    tests: [...input.tests],
  };
}

export function renderSummary(s: RunSummary): string {
  return JSON.stringify(s, null, 2) + "\n";
}

/** Writes `<dir>/summary.json` (creating dir) and returns its path. */
export async function writeSummary(
  dir: string,
  s: RunSummary,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/summary.json`;
  await Deno.writeTextFile(path, renderSummary(s));
  return path;
}
