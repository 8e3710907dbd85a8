// The CI definitions in the repository (.github/workflows/nightly.yml, .gitlab-ci.yml): checked
// by real validators (npm @action-validator/core, ajv with GitLab's schema facts), and every lab
// command they run is parsed by the lab's own option parser.
import assert from "node:assert/strict";
import av from "@action-validator/core";
import { parse } from "yaml";
import { REPO_DIR } from "./cache.ts";
import { schemaCheck } from "./json_schema.ts";
import { parseOptions } from "./options.ts";

const githubText = await Deno.readTextFile(`${REPO_DIR}/.github/workflows/nightly.yml`);
const gitlabText = await Deno.readTextFile(`${REPO_DIR}/.gitlab-ci.yml`);
const gitlabCheck = schemaCheck(
  JSON.parse(await Deno.readTextFile(new URL("./testdata/ci/gitlab-ci.schema.json", import.meta.url))),
);

type Yaml = Record<string, unknown>;
const obj = (v: unknown) => v as Yaml;

// Shell and CI variables -> sample values, so that the lab's parser sees what a runner runs.
function substitute(line: string): string {
  return line.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, "2").replace(/\$SHARD\b/g, "2").replace(/\$SHARDS\b/g, "4")
    .replace(/\$FLAVOUR\b/g, "base").replace(/\$SERIES\b/g, "ref")
    .replace(/\$\{\{[^}]*\}\}/g, "x").replace(/\$[A-Za-z_][A-Za-z0-9_]*/g, "x");
}

function words(line: string): string[] {
  return [...substitute(line).matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Every lab invocation of a script: `deno task lab ARGS`, with `"$@"` taken from the `set --` before. */
function labCommands(script: string): string[][] {
  const out: string[][] = [];
  let positional: string[] = [];
  for (const line of script.split("\n").flatMap((l) => l.split(/;\s*/))) {
    const set = line.match(/^\s*(?:-\s*)?set -- (.*)$/);
    if (set) positional = words(set[1]);
    const lab = line.match(/deno task lab (.*?)(?:\s*\|\|.*)?$/);
    if (lab) out.push(words(lab[1]).flatMap((w) => w === "$@" || w === "x@" ? positional : [w]));
  }
  return out;
}

function assertLabCommandsParse(text: string): string[] {
  const commands = labCommands(text);
  for (const c of commands) {
    const o = parseOptions(c);
    assert.ok(["provision", "run", "report", "history"].includes(o.command), c.join(" "));
  }
  return commands.map((c) => c.slice(0, 2).join(" "));
}

Deno.test("nightly.yml passes action-validator; a broken copy does not", () => {
  assert.deepEqual(av.validateWorkflow(githubText).errors, []);
  const broken = githubText.replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04");
  assert.notDeepEqual(av.validateWorkflow(broken).errors, []);
});

Deno.test("nightly.yml: schedule and manual dispatch, a shard per matrix entry, a kernel cache, merge after the shards", () => {
  const wf = obj(parse(githubText));
  const on = obj(wf.on);
  assert.ok(Array.isArray(on.schedule) && on.schedule.length > 0);
  assert.ok("workflow_dispatch" in on);
  const jobs = obj(wf.jobs);
  const shard = obj(jobs.shard);
  const shards = Number(obj(wf.env).SHARDS);
  assert.deepEqual(obj(obj(shard.strategy).matrix).shard, Array.from({ length: shards }, (_, i) => i + 1));
  const steps = (job: Yaml) => (job.steps as Yaml[]);
  const uses = (job: Yaml) => steps(job).map((s) => String(s.uses ?? "")).filter(Boolean);
  const cache = steps(shard).find((s) => s.uses === "actions/cache@v4")!;
  assert.match(String(obj(cache.with).key), /kernel-key/);
  assert.match(githubText, /hashFiles\('vm-images\/kconfig\/\*\*', 'vm-images\/series\/\*\*'/);
  const upload = steps(shard).find((s) => String(s.uses).startsWith("actions/upload-artifact"))!;
  assert.equal(obj(upload.with).path, "reports/${{ env.RUN_ID }}-shard-${{ matrix.shard }}/");
  const merge = obj(jobs.merge);
  assert.equal(merge.needs, "shard");
  assert.ok(uses(merge).includes("actions/download-artifact@v4"));
  assert.ok(uses(merge).includes("actions/upload-pages-artifact@v3"));
  assert.deepEqual(obj(jobs.publish).needs, "merge");
  const last = steps(merge).at(-1)!;
  assert.match(String(last.run), /exit 1/, "the merge job ends failing on a regression");
  assert.deepEqual(assertLabCommandsParse(githubText), [
    "provision",
    "run --shard",
    "report merge",
    "report kcidb",
    "history add",
  ]);
});

Deno.test(".gitlab-ci.yml passes GitLab's schema facts; broken copies do not", () => {
  const ci = parse(gitlabText);
  assert.equal(gitlabCheck(ci), "");
  const broken = (f: (c: Yaml) => void) => {
    const c = structuredClone(ci) as Yaml;
    f(c);
    return gitlabCheck(c);
  };
  assert.match(
    broken((c) => obj(c.shard).parallel = { matrix: [] }),
    /fewer than 1 items|must match a schema in anyOf/,
  );
  assert.match(broken((c) => obj(c.merge).artifact = {}), /additional properties/);
  assert.match(broken((c) => obj(obj(c.merge).artifacts).when = "sometimes"), /allowed values/);
  assert.match(broken((c) => delete obj(c.shard).script && delete obj(c.shard).extends), /required property/);
});

Deno.test(".gitlab-ci.yml: jobs in declared stages, a matrix of SHARDS shards, needs and extends resolve", () => {
  const ci = obj(parse(gitlabText));
  const stages = ci.stages as string[];
  const reserved = new Set(["stages", "workflow", "variables", "default", "include", "image", "cache"]);
  const jobs = Object.keys(ci).filter((k) => !reserved.has(k));
  for (const j of jobs.filter((j) => !j.startsWith("."))) {
    const job = obj(ci[j]);
    assert.ok(stages.includes(String(job.stage)), `${j}: stage ${job.stage} declared`);
    if (job.extends) assert.ok(jobs.includes(String(job.extends)), `${j} extends ${job.extends}`);
    for (const n of (job.needs as Yaml[] | undefined) ?? []) {
      assert.ok(jobs.includes(String(n.job)), `${j} needs ${n.job}`);
    }
  }
  const matrix = (obj(obj(ci.shard).parallel).matrix as Yaml[])[0].SHARD as string[];
  assert.equal(matrix.length, Number(obj(ci.variables).SHARDS));
  assert.deepEqual(obj(obj(ci.shard).artifacts).paths, ["reports/$RUN_ID-shard-$SHARD/"]);
  assert.equal(obj(obj(ci.merge).artifacts).when, "always");
  const kernelCache = (obj(ci.shard).cache as Yaml[])[0];
  assert.deepEqual(obj(kernelCache.key).files, ["vm-images/kconfig/base.config", "vm-images/series/ref/series.config"]);
  for (const f of obj(kernelCache.key).files as string[]) Deno.statSync(`${REPO_DIR}/${f}`);
  assert.deepEqual(assertLabCommandsParse(gitlabText), [
    "provision",
    "run --shard",
    "report merge",
    "report kcidb",
    "history add",
  ]);
});
