// `lab report kcidb`: a run as KernelCI's KCIDB JSON (schema v4.5), so results can be sent with
// KernelCI's own tools (kcidb-submit). One checkout (the kernel source + series), one build (the
// kernel image), one test per lab test and one DONE test per measured ratio. Pure.
import { sha256 } from "../cache.ts";
import { ratiosOf, topologyOf } from "./html.ts";
import type { TestResult } from "./result.ts";
import type { RunSummary } from "./summary.ts";
import { failureMessage } from "./tap.ts";

export const KCIDB_VERSION = { major: 4, minor: 5 } as const;

export type KcidbStatus = "FAIL" | "ERROR" | "MISS" | "PASS" | "DONE" | "SKIP";

export interface KcidbResource {
  name: string;
  url: string;
}

export interface KcidbCheckout {
  id: string;
  origin: string;
  tree_name: string;
  comment: string;
  start_time: string;
  valid: boolean;
  misc: Record<string, unknown>;
}

export interface KcidbBuild {
  id: string;
  checkout_id: string;
  origin: string;
  comment: string;
  start_time: string;
  architecture: string;
  config_name: string;
  valid: boolean;
  misc: Record<string, unknown>;
}

export interface KcidbTest {
  id: string;
  build_id: string;
  origin: string;
  path: string;
  status: KcidbStatus;
  comment: string;
  duration: number;
  environment: { comment: string; misc: Record<string, unknown> };
  log_url?: string;
  log_excerpt?: string;
  number?: { value: number; unit?: string };
  output_files?: KcidbResource[];
  misc?: Record<string, unknown>;
}

export interface KcidbReport {
  version: typeof KCIDB_VERSION;
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
}

export interface KcidbOptions {
  /** The CI system's KCIDB origin name ([a-z0-9_]+, assigned by KernelCI). */
  origin: string;
  /** Where the report folder is published: log URLs point below it. */
  baseUrl: string;
  /** The lab commit that ran (shard.json's run key). */
  lab: string;
}

export class KcidbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KcidbError";
  }
}

const LOG_EXCERPT_MAX = 16384;

/** A KCIDB test path element: only [a-zA-Z0-9_-] (the dot separates elements). */
export function pathElement(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]+/g, "_");
}

/**
 * KCIDB status of a lab result. A test that never started because its guest had died or hung
 * before it is MISS (the harness could not run it); a guest that did not come up is ERROR (the
 * kernel's status is unknown); every other failure is the kernel failing the test.
 */
export function kcidbStatus(t: TestResult): KcidbStatus {
  if (t.status === "pass") return "PASS";
  if (t.status === "skip") return "SKIP";
  if (/^guest (hung|died) earlier in the run$/.test(t.message ?? "")) return "MISS";
  if (t.suite.startsWith("boot@") && t.name === "guest-ready") return "ERROR";
  return "FAIL";
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

export function toKcidb(s: RunSummary, o: KcidbOptions): KcidbReport {
  if (!/^[a-z0-9_]+$/.test(o.origin)) {
    throw new KcidbError(`--origin ${o.origin}: a KCIDB origin is lower-case letters, digits and _ only`);
  }
  try {
    new URL(o.baseUrl);
  } catch {
    throw new KcidbError(`--base-url ${o.baseUrl}: not an absolute URL (e.g. https://ci.example.org/reports/RUN)`);
  }
  const id = (kind: string, ...parts: string[]) => `${o.origin}:${kind}-${sha256(parts).slice(0, 24)}`;
  const checkoutId = id("checkout", s.kernel.replace(/ (base|debug)$/, ""));
  const buildId = id("build", s.kernel);
  const flavour = s.kernel.match(/ (base|debug)$/)?.[1] ?? "";
  const tests: KcidbTest[] = [];
  for (const t of s.tests) {
    const topology = topologyOf(t.suite);
    const suite = t.suite.replace(/@[^@]*$/, "");
    const path = ["famfs_lab", pathElement(suite), pathElement(t.name)].join(".");
    const testId = id("test", s.runId, t.suite, t.name);
    const message = t.status === "fail" ? failureMessage(t) : t.skipReason ?? t.message;
    const consoleUrl = topology ? joinUrl(o.baseUrl, `${topology}/console.log`) : undefined;
    const environment = { comment: `QEMU guest, DAX topology ${topology}`, misc: { topology } };
    tests.push({
      id: testId,
      build_id: buildId,
      origin: o.origin,
      path,
      status: kcidbStatus(t),
      comment: `${t.suite} ${t.name}`,
      duration: t.durationMs / 1000,
      environment,
      ...(consoleUrl ? { log_url: consoleUrl } : {}),
      ...(message ? { log_excerpt: message.slice(0, LOG_EXCERPT_MAX) } : {}),
      ...(t.status === "fail" && topology
        ? { output_files: [{ name: "repro.sh", url: joinUrl(o.baseUrl, `${topology}/repro.sh`) }] }
        : {}),
      ...(t.findings.length ? { misc: { findings: t.findings.map((f) => `${f.kind}: ${f.firstLine}`) } } : {}),
    });
    for (const [name, value] of ratiosOf(t)) {
      tests.push({
        id: id("test", s.runId, t.suite, t.name, name),
        build_id: buildId,
        origin: o.origin,
        path: `${path}.${pathElement(name)}`,
        status: "DONE",
        comment: `${t.suite} ${t.name}: ${name} (famfs vs the raw device)`,
        duration: 0,
        environment,
        number: { value },
        ...(consoleUrl ? { log_url: consoleUrl } : {}),
      });
    }
  }
  return {
    version: KCIDB_VERSION,
    checkouts: [{
      id: checkoutId,
      origin: o.origin,
      tree_name: "famfs",
      comment: s.kernel.replace(/ (base|debug)$/, ""),
      start_time: s.startedAt,
      valid: true,
      misc: { lab: o.lab, run: s.runId },
    }],
    builds: [{
      id: buildId,
      checkout_id: checkoutId,
      origin: o.origin,
      comment: s.kernel,
      start_time: s.startedAt,
      architecture: "x86_64",
      config_name: flavour,
      // The lab only runs tests once it has the kernel image: the build completed.
      valid: true,
      misc: { lab: o.lab },
    }],
    tests,
  };
}
