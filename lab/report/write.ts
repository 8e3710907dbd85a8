// Writes reports/<run-id>/: summary.json, one <suite>.tap per suite, junit.xml and index.html.
import { renderHtml } from "./html.ts";
import { renderJunit } from "./junit.ts";
import { groupBySuite } from "./result.ts";
import { renderSummary, type RunSummary } from "./summary.ts";
import { renderTap } from "./tap.ts";

export interface WrittenReports {
  summary: string;
  tap: string[];
  junit: string;
  html: string;
}

// Suite names come from folder names; keep the file name safe anyway.
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Renders every report of a run into `dir` (created if missing); returns the paths written. */
export async function writeRunReports(
  dir: string,
  s: RunSummary,
): Promise<WrittenReports> {
  await Deno.mkdir(dir, { recursive: true });
  const suites = [...groupBySuite(s.tests)].map(([suite, tests]) => ({
    suite,
    tap: renderTap(tests),
  }));
  const tap: string[] = [];
  for (const { suite, tap: text } of suites) {
    const path = `${dir}/${fileSafe(suite)}.tap`;
    await Deno.writeTextFile(path, text);
    tap.push(path);
  }
  const junit = `${dir}/junit.xml`;
  await Deno.writeTextFile(
    junit,
    await renderJunit(suites, `famfs-lab ${s.runId}`, s.counts.deviations),
  );
  const summary = `${dir}/summary.json`;
  await Deno.writeTextFile(summary, renderSummary(s));
  const html = `${dir}/index.html`;
  await Deno.writeTextFile(html, renderHtml(s));
  return { summary, tap, junit, html };
}
