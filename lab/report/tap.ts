// TAP version 13 (KTAP-like) text for one suite. Pure.
import type { TestResult } from "./result.ts";

// A test point's description ends at "#" (directive) or the line end.
function description(s: string): string {
  return s.replace(/[\r\n]+/g, " ").replace(/\\/g, "\\\\").replace(/#/g, "\\#");
}

// JSON strings, numbers, arrays and objects are valid YAML flow scalars/collections, so the
// diagnostics need no YAML library and stay one line per key.
function yaml(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/** The failure message of a test: its own, else the first kernel report's first line. */
export function failureMessage(t: TestResult): string | undefined {
  if (t.message !== undefined) return t.message;
  const f = t.findings[0];
  return f ? `kernel ${f.kind}: ${f.firstLine}` : undefined;
}

function diagnostics(t: TestResult): string[] {
  const out = ["  ---"];
  const message = t.status === "fail" ? failureMessage(t) : t.message;
  if (message !== undefined) out.push(`  message: ${yaml(message)}`);
  if (t.status === "fail") out.push(`  severity: fail`);
  if (t.deviation !== undefined) out.push(`  deviation: ${yaml(t.deviation)}`);
  out.push(`  duration_ms: ${yaml(Math.round(t.durationMs))}`);
  if (t.findings.length > 0) {
    out.push("  findings:");
    for (const f of t.findings) {
      out.push(`    - kind: ${yaml(f.kind)}`);
      out.push(`      first_line: ${yaml(f.firstLine)}`);
      if (f.uptime !== null) out.push(`      uptime: ${yaml(f.uptime)}`);
    }
  }
  if (t.details && Object.keys(t.details).length > 0) {
    out.push(`  details: ${yaml(t.details)}`);
  }
  out.push("  ...");
  return out;
}

/** One suite as a TAP 13 document; a test with findings or a message gets a YAML block. */
export function renderTap(tests: readonly TestResult[]): string {
  // No "# suite" comment: tap-junit would copy the last comment into every test's system-out.
  const out = ["TAP version 13", `1..${tests.length}`];
  tests.forEach((t, i) => {
    const n = i + 1;
    const name = description(t.name);
    if (t.status === "skip") {
      const reason = t.skipReason ?? t.message ?? "";
      out.push(
        `ok ${n} - ${name} # SKIP${reason ? " " + description(reason) : ""}`,
      );
      return;
    }
    // A deviation is not a failure: "ok", with the deviation named in its YAML block.
    out.push(`${t.status === "fail" ? "not ok" : "ok"} ${n} - ${name}`);
    if (
      t.status === "fail" || t.findings.length > 0 || t.message !== undefined ||
      t.details
    ) {
      out.push(...diagnostics(t));
    }
  });
  return out.join("\n") + "\n";
}
