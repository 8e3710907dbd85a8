// Command-line options -> typed requests (kernel, topology). No effects here.
import { parseArgs } from "node:util";
import type { Flavour, KernelRequest } from "./kernel.ts";

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\nSee: lab --help`);
    this.name = "UsageError";
  }
}

/** The series the main job's kernel carries when none is named (undefined: stock kernel). */
export const DEFAULT_SERIES: string | undefined = "ref";

export const OPTION_SPEC = {
  help: { type: "boolean", short: "h" },
  "dry-run": { type: "boolean" },
  topology: { type: "string", short: "t" },
  kernel: { type: "string" },
  "kernel-src": { type: "string" },
  series: { type: "string" },
  mutant: { type: "string", multiple: true },
  flavour: { type: "string" },
  fragment: { type: "string", multiple: true },
  append: { type: "string", multiple: true },
  suite: { type: "string", multiple: true },
  "run-id": { type: "string" },
  check: { type: "boolean" },
  baseline: { type: "string" },
  test: { type: "string" },
} as const;

export interface LabOptions {
  command: string;
  rest: string[];
  help: boolean;
  dryRun: boolean;
  topology: string;
  kernel: KernelRequest;
  append: string[];
  suites: string[];
  /** --mutant values (several only for sensitivity, which runs each in turn). */
  mutants: string[];
  runId?: string;
  check: boolean;
  /** validate: the baseline run folder or series. */
  baseline?: string;
  /** bisect: the SUITE/TEST to bisect. */
  test?: string;
}

export function parseOptions(argv: string[]): LabOptions {
  const dashdash = argv.indexOf("--");
  const own = dashdash < 0 ? argv : argv.slice(0, dashdash);
  const after = dashdash < 0 ? [] : argv.slice(dashdash + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      options: OPTION_SPEC,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const flavour = (v.flavour ?? "base") as Flavour;
  if (flavour !== "base" && flavour !== "debug") {
    throw new UsageError(`--flavour ${v.flavour}: must be base or debug`);
  }
  const mutants = v.mutant ?? [];
  const command = parsed.positionals[0] ?? "";
  if (mutants.length > 1 && command !== "sensitivity") {
    throw new UsageError("--mutant is repeatable only for sensitivity");
  }
  if (v.kernel && (v["kernel-src"] || v.series || mutants.length)) {
    throw new UsageError(
      "--kernel (a prebuilt image) cannot be combined with --kernel-src, --series or --mutant",
    );
  }
  const source: KernelRequest["source"] = v.kernel
    ? { kind: "image", path: v.kernel }
    : v["kernel-src"]
    ? { kind: "tree", path: v["kernel-src"] }
    : { kind: "debian" };
  // --series none asks for the stock kernel explicitly.
  const series = v.series === "none" ? undefined : v.series ?? (source.kind === "debian" ? DEFAULT_SERIES : undefined);
  return {
    command,
    rest: [...parsed.positionals.slice(1), ...after],
    help: v.help ?? false,
    dryRun: v["dry-run"] ?? false,
    // The main job covers both kinds of DAX memory, one guest each; a single guest has both.
    topology: v.topology ?? (["run", "sensitivity", "validate", "bisect"].includes(command) ? "pmem,cxl" : "default"),
    kernel: {
      source,
      flavour,
      series,
      mutant: command === "sensitivity" ? undefined : mutants[0],
      fragments: v.fragment ?? [],
    },
    append: v.append ?? [],
    suites: v.suite ?? [],
    mutants,
    runId: v["run-id"],
    check: v.check ?? false,
    baseline: v.baseline,
    test: v.test,
  };
}
