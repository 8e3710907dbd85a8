// Command-line options -> typed requests (kernel, topology); user mistakes -> one-line UsageError.
// No effects here: the names that exist on disk come in as `Choices`.
import { parseArgs } from "node:util";
import type { Flavour, KernelRequest, ProfileChoice } from "./kernel.ts";
import { PROFILES } from "../src/famfs/profiles.ts";
import type { Accel } from "./accel_verdict.ts";
import { parseShardSpec, ShardError, type ShardSpec } from "./shard.ts";

/** A mistake in the command line: one line naming the bad input and what to give instead. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const FLAVOURS: readonly Flavour[] = ["base", "debug"];
export const PROFILE_CHOICES: readonly ProfileChoice[] = [...Object.values(PROFILES).map((p) => p.name), "none"];
const ACCELS: readonly Accel[] = ["kvm", "tcg"];

function oneOf<T extends string>(option: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${option} ${value}: unknown; choices: ${choices.join(", ")}`);
  }
  return value as T;
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
  strict: { type: "boolean" },
  profile: { type: "string" },
  accel: { type: "string" },
  shard: { type: "string" },
  "shard-weights": { type: "string" },
  origin: { type: "string" },
  "base-url": { type: "string" },
  history: { type: "string" },
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
  /** --strict: a deviation of the kernel's profile fails the run too. */
  strict: boolean;
  /** --accel: skip the KVM probe. */
  accel?: Accel;
  /** --shard I/N: run only this part of the matrix (lab/shard.ts). */
  shard?: ShardSpec;
  /** --shard-weights FILE: the summary.json whose durations balance the shards. */
  shardWeights?: string;
  /** report kcidb: the KCIDB origin and the URL the report folder is published at. */
  origin?: string;
  baseUrl?: string;
  /** history: the history folder (default ~/.cache/famfs-lab/history). */
  history?: string;
  /** validate: the baseline run folder or series. */
  baseline?: string;
  /** bisect: the SUITE/TEST to bisect. */
  test?: string;
}

/** parseArgs' own message, reduced to the option it did not know and the ones it does. */
function parseArgsMistake(e: Error): UsageError {
  const unknown = e.message.match(/^Unknown option '([^']+)'/)?.[1];
  if (!unknown) return new UsageError(e.message.split("\n")[0]);
  const known = Object.keys(OPTION_SPEC).map((k) => `--${k}`).join(" ");
  return new UsageError(`${unknown}: unknown option; options: ${known}`);
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
    throw parseArgsMistake(e as Error);
  }
  const v = parsed.values;
  const flavour = oneOf("--flavour", v.flavour, FLAVOURS) ?? "base";
  const profile = oneOf("--profile", v.profile, PROFILE_CHOICES);
  const mutants = v.mutant ?? [];
  const command = parsed.positionals[0] ?? "";
  if (mutants.length > 1 && command !== "sensitivity") {
    throw new UsageError("--mutant is repeatable only for sensitivity");
  }
  // Only these print their plan instead of booting; any other command would run for real.
  if (v["dry-run"] && !["run", "exec", "shell"].includes(command)) {
    throw new UsageError(`--dry-run: only run, exec and shell have one; ${command || "no command"} would really run`);
  }
  if (v.kernel && (v["kernel-src"] || v.series || mutants.length)) {
    throw new UsageError(
      "--kernel (a prebuilt image) cannot be combined with --kernel-src, --series or --mutant",
    );
  }
  if (v.kernel && !profile) {
    throw new UsageError(
      `--kernel ${v.kernel}: a prebuilt image needs --profile ${PROFILE_CHOICES.join("|")} ` +
        "(its famfs protocol cannot be read from a tree)",
    );
  }
  let shard: ShardSpec | undefined;
  try {
    shard = v.shard === undefined ? undefined : parseShardSpec(v.shard);
  } catch (e) {
    if (e instanceof ShardError) throw new UsageError(e.message);
    throw e;
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
    // The main job covers both kinds of DAX memory, one guest each, and two hosts sharing memory (multihost
    // runs only the multi-host suites); the kernel-judging commands stay on pmem,cxl; a single guest has both.
    topology: v.topology ??
      (command === "run"
        ? "pmem,cxl,multihost"
        : ["sensitivity", "validate", "bisect"].includes(command)
        ? "pmem,cxl"
        : "default"),
    kernel: {
      source,
      flavour,
      series,
      mutant: command === "sensitivity" ? undefined : mutants[0],
      fragments: v.fragment ?? [],
      profile,
    },
    append: v.append ?? [],
    suites: v.suite ?? [],
    mutants,
    runId: v["run-id"],
    check: v.check ?? false,
    strict: v.strict ?? false,
    accel: oneOf("--accel", v.accel, ACCELS),
    shard,
    shardWeights: v["shard-weights"],
    origin: v.origin,
    baseUrl: v["base-url"],
    history: v.history,
    baseline: v.baseline,
    test: v.test,
  };
}

/** The names that exist: suites, topologies, series and mutants in the repository. */
export interface Choices {
  suites: string[];
  topologies: string[];
  series: string[];
  mutants: string[];
}

/** Refuses names that do not exist (paths to a topology or series are checked when read). */
export function checkChoices(o: LabOptions, c: Choices): void {
  const check = (option: string, values: string[], known: string[], isPath: (v: string) => boolean, or = "") => {
    for (const v of values) {
      if (!isPath(v) && !known.includes(v)) {
        throw new UsageError(`${option} ${v}: unknown; choices: ${known.join(", ")}${or}`);
      }
    }
  };
  const never = () => false;
  check("--suite", o.suites, c.suites, never);
  check(
    "--topology",
    o.topology.split(","),
    c.topologies,
    (t) => t.includes("/") || t.endsWith(".json"),
    " or a path to a .json file",
  );
  check("--mutant", o.mutants, c.mutants, never);
  // A name (no slash, no dot) is a folder under vm-images/series/; anything else is a path.
  check(
    "--series",
    o.kernel.series ? [o.kernel.series] : [],
    [...c.series, "none"],
    (s) => s.includes("/") || s.includes("."),
    " or a path to a folder of patches or an mbox",
  );
}
