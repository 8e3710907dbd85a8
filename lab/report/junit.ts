// JUnit XML from TAP text, made by the npm package tap-junit; several suites merged into one file.
//
// tap-junit's exported function only prints the XML (console.info) or writes a file and calls
// process.exit(1) when a test failed, neither usable inside the lab's own process. So this feeds
// the TAP to tap-parser (the parser tap-junit is built on, same version) and hands the parsed
// test points to tap-junit's own serializer, which is what its CLI does between those two steps.
import { type FinalResults, Parser, type Result } from "tap-parser";
import tapJunitSerialize from "tap-junit/src/serialize.js";

export interface SuiteTap {
  suite: string;
  tap: string;
}

export interface JunitSuite {
  suite: string;
  tests: number;
  failures: number;
  skipped: number;
  /** tap-junit's `<testsuites>` document for this suite alone. */
  xml: string;
}

export class JunitError extends Error {
  override name = "JunitError";
}

interface SerializeOptions {
  name?: string;
  classname?: string;
  pretty?: boolean;
}
type Serialize = (
  cases: Result[],
  output: FinalResults,
  opts: SerializeOptions,
) => string;
const serialize = tapJunitSerialize as Serialize;

function parseTap(
  tap: string,
): Promise<{ cases: Result[]; final: FinalResults }> {
  return new Promise((resolve, reject) => {
    const cases: Result[] = [];
    const parser = new Parser();
    parser.on("assert", (r: Result) => cases.push(r));
    parser.on("complete", (final: FinalResults) => resolve({ cases, final }));
    parser.on(
      "error",
      (e: unknown) => reject(new JunitError(`TAP parse failed: ${String(e)}`)),
    );
    parser.end(tap);
  });
}

/** One suite's TAP through tap-junit; the suite name becomes the `<testsuite name>`. */
export async function tapToJunit(
  suite: string,
  tap: string,
): Promise<JunitSuite> {
  const { cases, final } = await parseTap(tap);
  const xml = serialize(cases, final, {
    name: suite,
    classname: suite,
    pretty: true,
  });
  return {
    suite,
    tests: final.count,
    failures: final.fail,
    skipped: final.skip,
    xml,
  };
}

function attr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** The `<testsuite>` element of a tap-junit document (pretty-printed one level deep already). */
function testsuiteElement(xml: string): string {
  const start = xml.indexOf("<testsuite ");
  const end = xml.lastIndexOf("</testsuites>");
  if (start < 0 || end < start) {
    throw new JunitError("tap-junit output has no <testsuite>");
  }
  return "  " + xml.slice(start, end).trimEnd();
}

/** All suites as one junit.xml: a `<testsuites>` root holding tap-junit's `<testsuite>` of each. */
export async function renderJunit(
  suites: readonly SuiteTap[],
  name = "famfs-lab",
  deviations = 0,
): Promise<string> {
  const parts: JunitSuite[] = [];
  for (const s of suites) parts.push(await tapToJunit(s.suite, s.tap));
  const sum = (k: "tests" | "failures" | "skipped") => parts.reduce((n, p) => n + p[k], 0);
  const head = `<testsuites name="${attr(name)}" tests="${sum("tests")}" failures="${sum("failures")}" ` +
    `skipped="${sum("skipped")}" deviations="${deviations}">`;
  return [
    '<?xml version="1.0"?>',
    head,
    ...parts.map((p) => testsuiteElement(p.xml)),
    "</testsuites>",
    "",
  ]
    .join("\n");
}
