// Guest kernels: Debian's linux-source (or a user tree, or a prebuilt image), an optional patch
// series applied to a copy, config fragments, an out-of-tree build with progress, and a cache
// keyed by a hash of everything that went in.
import { $ } from "zx";
import { archiveUri, readSourcesFiles } from "./provision.ts";
import { cacheDir, exists, processArgs, REPO_DIR, sha256 } from "./cache.ts";
import {
  MUTANT_DIR,
  parseGitApplyError,
  type Patch,
  readSeries,
  resolveSeriesPath,
  seriesFragment,
} from "./patches.ts";
import { Progress } from "./progress.ts";
import { detectProfile, type FamfsDetection } from "./profile_detect.ts";
import type { ProfileName } from "../src/famfs/profiles.ts";

export type Flavour = "base" | "debug";
export type KernelSource =
  | { kind: "debian" }
  | { kind: "tree"; path: string }
  | { kind: "image"; path: string };

/** A famfs profile named by the user; "none" says the kernel has no famfs support. */
export type ProfileChoice = ProfileName | "none";

export interface KernelRequest {
  source: KernelSource;
  flavour: Flavour;
  series?: string;
  mutant?: string;
  /** Extra kconfig fragment files, applied last. */
  fragments: string[];
  /** --profile: the famfs protocol to use instead of the one read from the built tree. */
  profile?: ProfileChoice;
  /** Apply only the first N patches of the series (a prefix build, as `lab validate` and `lab bisect` make). */
  firstPatches?: number;
}

export interface Kernel {
  image: string;
  /** What it is, for reports: "debian 7.3.4-1~bpo13+1 + ref (5 patches), base". */
  description: string;
  key: string;
  cached: boolean;
  buildMs: number;
  /** The famfs protocol the kernel speaks and how that was found. */
  famfs: FamfsDetection;
  /** The build started from the cached build folder of this many first patches. */
  seededBy?: number;
}

export class KernelBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelBuildError";
  }
}

export const DEBIAN_SOURCE_PACKAGE = "linux-source-7.3";
export const FRAGMENT_DIR = `${REPO_DIR}/vm-images/kconfig`;

function aptOptions(dir: string): string[] {
  return [
    `-o`,
    `Dir::Etc::SourceList=${dir}/sources.list`,
    `-o`,
    `Dir::Etc::SourceParts=${dir}/none`,
    `-o`,
    `Dir::State::Lists=${dir}/lists`,
    `-o`,
    `Dir::Cache::Archives=${dir}/archives`,
    `-o`,
    `APT::Sandbox::User=root`,
  ];
}

/**
 * Debian's linux-source from trixie-backports, downloaded with a private apt state (the machine's
 * own apt lists stay untouched) and unpacked once into the cache.
 */
export async function ensureDebianSource(
  log: (l: string) => void,
): Promise<{ path: string; version: string }> {
  const src = `${cacheDir()}/src`;
  await Deno.mkdir(src, { recursive: true });
  for (const e of Deno.readDirSync(src)) {
    const marker = `${src}/${e.name}/.famfs-lab-source`;
    if (e.isDirectory && await exists(marker)) {
      return {
        path: `${src}/${e.name}`,
        version: (await Deno.readTextFile(marker)).trim(),
      };
    }
  }
  const apt = `${cacheDir()}/apt`;
  for (const d of ["lists/partial", "archives/partial"]) {
    await Deno.mkdir(`${apt}/${d}`, { recursive: true });
  }
  const uri = archiveUri(await readSourcesFiles());
  if (!uri) {
    throw new KernelBuildError(
      "no Debian archive found in /etc/apt to download linux-source from",
    );
  }
  await Deno.writeTextFile(
    `${apt}/sources.list`,
    `deb ${uri} trixie-backports main\n`,
  );
  log(`kernel: fetching ${DEBIAN_SOURCE_PACKAGE} from trixie-backports`);
  const q = $({ quiet: true, cwd: src });
  await q`apt-get ${aptOptions(apt)} update`;
  await q`apt-get ${aptOptions(apt)} download ${DEBIAN_SOURCE_PACKAGE}`;
  const deb = [...Deno.readDirSync(src)].find((e) => e.name.startsWith(`${DEBIAN_SOURCE_PACKAGE}_`))!.name;
  const version = decodeURIComponent(deb.split("_")[1]);
  const upstream = version.replace(/-.*/, "");
  log(`kernel: unpacking ${deb}`);
  await q`dpkg-deb --fsys-tarfile ${deb} | tar -x --wildcards '*.tar.xz' -O | tar -xJ`;
  await Deno.rename(
    `${src}/${DEBIAN_SOURCE_PACKAGE}`,
    `${src}/linux-${upstream}`,
  );
  await Deno.writeTextFile(
    `${src}/linux-${upstream}/.famfs-lab-source`,
    version + "\n",
  );
  await Deno.remove(`${src}/${deb}`);
  return { path: `${src}/linux-${upstream}`, version };
}

/** Fragment files in the order they are merged. */
export function fragmentFiles(
  req: KernelRequest,
  seriesPath: string | null,
): string[] {
  return [
    `${FRAGMENT_DIR}/base.config`,
    ...(req.flavour === "debug" ? [`${FRAGMENT_DIR}/debug.config`] : []),
    ...(seriesPath && seriesFragment(seriesPath) ? [seriesFragment(seriesPath)!] : []),
    ...req.fragments,
  ];
}

/** `CONFIG_X=y` / `# CONFIG_X is not set` requests of a fragment, as symbol -> value. */
export function parseFragment(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const set = line.match(/^(CONFIG_\w+)=(.*)$/);
    const unset = line.match(/^# (CONFIG_\w+) is not set$/);
    if (set) out.set(set[1], set[2] === "n" ? "n" : set[2]);
    else if (unset) out.set(unset[1], "n");
  }
  return out;
}

/** Symbols a fragment asked for that the final .config does not have (kconfig dropped them). */
export function unmetRequests(
  requested: Map<string, string>,
  finalConfig: string,
): string[] {
  const actual = parseFragment(finalConfig);
  const bad: string[] = [];
  for (const [sym, want] of requested) {
    const got = actual.get(sym) ?? "n";
    if (got !== want) bad.push(`${sym}=${want} (got ${got})`);
  }
  return bad;
}

/** Copies a source tree without its build folders, except `keepBuild`. */
async function copyTree(from: string, to: string, keepBuild?: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const entries = [...Deno.readDirSync(from)].map((e) => e.name).filter((n) =>
    !n.startsWith("build-") || n === keepBuild
  );
  await $({ quiet: true, cwd: from })`cp -a --reflink=auto ${entries} ${to}/`;
}

async function applyPatches(
  tree: string,
  patches: Patch[],
  log: (l: string) => void,
): Promise<void> {
  for (const p of patches) {
    const r = await $({
      quiet: true,
      nothrow: true,
      cwd: tree,
      input: p.text,
    })`git apply -p1 --whitespace=nowarn -`;
    if (r.exitCode !== 0) throw parseGitApplyError(p, r.stderr);
    log(`kernel: applied ${p.name}: ${p.subject}`);
  }
}

/** Half-made tree copies of lab processes that were interrupted (Ctrl-C, crash). */
async function removeStaleCopies(trees: string): Promise<void> {
  if (!await exists(trees)) return;
  for (const e of Deno.readDirSync(trees)) {
    const pid = e.name.match(/\.tmp-(\d+)$/)?.[1];
    if (pid && await processArgs(Number(pid)) === null) await Deno.remove(`${trees}/${e.name}`, { recursive: true });
  }
}

const treeDir = (sourceId: string, patches: Patch[]) =>
  `${cacheDir()}/trees/${sha256([sourceId, ...patches.map((p) => p.text)]).slice(0, 16)}`;

/** A finished build of the first `applied` patches (e.g. the series under a mutant), to start from. */
interface Seed {
  tree: string;
  out: string;
  applied: number;
}

/**
 * A patched copy of the source, made once per (source, patches). With a seed, the copy is of the seed's tree and
 * build folder (renamed to `out`), so make rebuilds only what the remaining patches touch.
 */
async function patchedTree(
  source: { path: string; id: string },
  patches: Patch[],
  log: (l: string) => void,
  seed?: Seed & { as: string },
): Promise<string> {
  if (patches.length === 0) return source.path;
  const tree = treeDir(source.id, patches);
  if (await exists(`${tree}/.famfs-lab-applied`)) return tree;
  await removeStaleCopies(`${cacheDir()}/trees`);
  const tmp = `${tree}.tmp-${Deno.pid}`;
  if (seed) {
    log(`kernel: starting from the build of the first ${seed.applied} patch(es) in ${seed.tree}`);
    await copyTree(seed.tree, tmp, seed.out);
    await Deno.rename(`${tmp}/${seed.out}`, `${tmp}/${seed.as}`);
  } else {
    log(`kernel: copying ${source.path} to apply ${patches.length} patch(es)`);
    await copyTree(source.path, tmp);
  }
  try {
    await applyPatches(tmp, patches.slice(seed?.applied ?? 0), log);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true });
    throw e;
  }
  await Deno.writeTextFile(
    `${tmp}/.famfs-lab-applied`,
    patches.map((p) => p.name).join("\n") + "\n",
  );
  await Deno.remove(tree, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, tree);
  return tree;
}

async function configure(
  tree: string,
  out: string,
  fragments: string[],
  partial: boolean,
  log: (l: string) => void,
): Promise<void> {
  const q = $({ quiet: true, cwd: tree });
  await q`make O=${out} tinyconfig`;
  await q`scripts/kconfig/merge_config.sh -m -O ${out} ${out}/.config ${fragments}`;
  await q`make O=${out} olddefconfig`;
  const requested = new Map<string, string>();
  for (const f of fragments) {
    for (const [k, v] of parseFragment(await Deno.readTextFile(f))) {
      requested.set(k, v);
    }
  }
  const unmet = unmetRequests(
    requested,
    await Deno.readTextFile(`${out}/.config`),
  );
  if (unmet.length > 0 && partial) {
    log(`kernel: not yet in this prefix of the series (fine): ${unmet.join(", ")}`);
  } else if (unmet.length > 0) {
    throw new KernelBuildError(
      `kconfig did not honour ${unmet.join(", ")}: a dependency is missing from the fragments ` +
        `(${fragments.join(", ")}); check with 'make O=${out} menuconfig' (search the symbol)`,
    );
  }
}

/** Runs make with a progress line (objects built, elapsed, current file); keeps the full log. */
async function make(tree: string, out: string, logFile: string): Promise<void> {
  const progress = new Progress("kernel build");
  const jobs = String(navigator.hardwareConcurrency);
  const cmd = new Deno.Command("make", {
    args: [
      `O=${out}`,
      `-j${jobs}`,
      "CC=ccache gcc",
      "KBUILD_BUILD_USER=famfs-lab",
      "KBUILD_BUILD_HOST=lab",
      "bzImage",
    ],
    cwd: tree,
    env: {
      CCACHE_DIR: `${cacheDir()}/ccache`,
      CCACHE_NOHASHDIR: "1",
      CCACHE_MAXSIZE: "10G",
    },
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  const log = await Deno.open(logFile, {
    write: true,
    create: true,
    truncate: true,
  });
  let objects = 0;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of stream) {
      await log.write(chunk);
      buf += new TextDecoder().decode(chunk);
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) {
        if (/^\s+(CC|AS|LD|AR)\s/.test(l)) {
          objects++;
          progress.update(`${objects} steps, ${l.trim().replace(/\s+/g, " ")}`);
        }
      }
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout),
    pump(child.stderr),
  ]);
  log.close();
  if (!status.success) {
    const tail = (await Deno.readTextFile(logFile)).split("\n").filter((l) => /error|Error/.test(l)).slice(-15);
    throw new KernelBuildError(
      `make bzImage failed in ${out}; errors:\n  ${tail.join("\n  ")}\nfull log: ${logFile}`,
    );
  }
  progress.done(`${objects} steps`);
}

async function compilerId(): Promise<string> {
  return (await $({ quiet: true })`gcc --version`).stdout.split("\n")[0];
}

/** Builds (or finds in the cache) the kernel a request describes. */
export async function buildKernel(
  req: KernelRequest,
  log: (l: string) => void,
): Promise<Kernel> {
  if (req.source.kind === "image") {
    if (!await exists(req.source.path)) {
      throw new KernelBuildError(
        `--kernel ${req.source.path}: no such file (give a bzImage path)`,
      );
    }
    if (!req.profile) {
      throw new KernelBuildError(
        `--kernel ${req.source.path}: a prebuilt image needs --profile (ref, v3, rfc-v2, none)`,
      );
    }
    return {
      image: req.source.path,
      description: `image ${req.source.path}`,
      key: "image",
      cached: true,
      buildMs: 0,
      famfs: {
        profile: req.profile === "none" ? null : req.profile,
        how: `--profile ${req.profile} given for the prebuilt image`,
      },
    };
  }
  const started = Date.now();
  const source = req.source.kind === "debian"
    ? await ensureDebianSource(log).then((s) => ({
      path: s.path,
      id: `debian ${s.version}`,
    }))
    : { path: req.source.path, id: `tree ${req.source.path}` };
  if (req.source.kind === "tree" && !await exists(`${source.path}/Makefile`)) {
    throw new KernelBuildError(
      `--kernel-src ${source.path}: not a kernel tree (no Makefile)`,
    );
  }
  const seriesPath = req.series ?? (req.mutant ? "ref" : undefined);
  const resolved = seriesPath ? resolveSeriesPath(seriesPath) : null;
  const patches = resolved ? await readSeries(resolved) : [];
  if (req.mutant) {
    patches.push(...await readSeries(`${MUTANT_DIR}${req.mutant}.patch`));
  }
  const total = patches.length;
  if (req.firstPatches !== undefined) patches.splice(req.firstPatches);
  const fragments = fragmentFiles(req, resolved);
  const fragmentTexts = await Promise.all(
    fragments.map((f) => Deno.readTextFile(f)),
  );
  const compiler = await compilerId();
  const keyOf = (ps: Patch[]) => sha256([source.id, compiler, ...fragmentTexts, ...ps.map((p) => p.text)]).slice(0, 16);
  const key = keyOf(patches);
  const description = [
    source.id,
    seriesPath
      ? `+ ${seriesPath} (${patches.length < total ? `first ${patches.length} of ${total}` : patches.length} patches)`
      : "",
    req.mutant ? `+ mutant ${req.mutant}` : "",
    req.flavour,
  ].filter(Boolean).join(" ");
  const dir = `${cacheDir()}/kernels/${key}`;
  await Deno.mkdir(dir, { recursive: true });
  // One build per kernel at a time, across lab processes; the loser then finds it cached.
  const lock = await Deno.open(`${dir}.lock`, { create: true, write: true });
  await lock.lock(true);
  try {
    const partial = patches.length < total;
    const plan = { source, patches, fragments, key, keyOf, description, dir, started, seriesPath: resolved, partial };
    return await buildLocked(req, plan, log);
  } finally {
    lock.close();
  }
}

interface BuildPlan {
  source: { path: string; id: string };
  patches: Patch[];
  fragments: string[];
  key: string;
  /** The cache key of the same build with other patches. */
  keyOf: (patches: Patch[]) => string;
  description: string;
  dir: string;
  started: number;
  /** The series folder or mbox applied, if any (its `profile` file is a cross-check). */
  seriesPath: string | null;
  /** A prefix of the series: its fragment may name symbols that later patches add. */
  partial: boolean;
}

/** The finished build of the longest proper prefix of the patches (same source and config), if cached. */
async function builtPrefix(p: BuildPlan): Promise<Seed | undefined> {
  for (let n = p.patches.length - 1; n > 0; n--) {
    const prefix = p.patches.slice(0, n);
    const key = p.keyOf(prefix);
    const tree = treeDir(p.source.id, prefix);
    if (await exists(`${cacheDir()}/kernels/${key}/bzImage`) && await exists(`${tree}/build-${key}/vmlinux`)) {
      return { tree, out: `build-${key}`, applied: n };
    }
  }
}

async function buildLocked(req: KernelRequest, p: BuildPlan, log: (l: string) => void): Promise<Kernel> {
  const { source, patches, fragments, key, description, dir, started } = p;
  // A user's tree may have changed since: always let make decide what to rebuild.
  if (req.source.kind === "debian" && await exists(`${dir}/bzImage`)) {
    // Builds cached before the header was kept: the patched tree still has it (or is made again).
    if (!await exists(`${dir}/fuse.h`)) await keepFuseHeader(await patchedTree(source, patches, log), dir);
    return {
      image: `${dir}/bzImage`,
      description,
      key,
      cached: true,
      buildMs: Date.now() - started,
      famfs: await famfsOf(req, p),
    };
  }
  const seed = req.source.kind === "debian" ? await builtPrefix(p) : undefined;
  const tree = await patchedTree(source, patches, log, seed && { ...seed, as: `build-${key}` });
  const out = `${tree}/build-${key}`;
  log(`kernel: building ${description} in ${out}`);
  await configure(tree, out, fragments, p.partial, log);
  await make(tree, out, `${dir}/build.log`);
  await Deno.copyFile(`${out}/arch/x86/boot/bzImage`, `${dir}/bzImage`);
  await Deno.copyFile(`${out}/.config`, `${dir}/config`);
  await keepFuseHeader(tree, dir);
  await Deno.writeTextFile(
    `${dir}/manifest.json`,
    JSON.stringify(
      {
        description,
        source: source.id,
        fragments,
        patches: patches.map((p) => p.name),
      },
      null,
      2,
    ),
  );
  return {
    image: `${dir}/bzImage`,
    description,
    key,
    cached: false,
    buildMs: Date.now() - started,
    famfs: await famfsOf(req, p),
    ...(seed ? { seededBy: seed.applied } : {}),
  };
}

/** The uapi header the famfs profile is read from, kept beside the build's `config`. */
async function keepFuseHeader(tree: string, dir: string): Promise<void> {
  await Deno.copyFile(`${tree}/include/uapi/linux/fuse.h`, `${dir}/fuse.h`);
}

/** The series' own statement of its profile (a `profile` file beside the patches), if any. */
async function seriesProfileFile(seriesPath: string | null): Promise<string | null> {
  if (!seriesPath) return null;
  return (await Deno.readTextFile(`${seriesPath}/profile`).catch(() => "")).trim() || null;
}

/**
 * The famfs profile of a build, read from its fuse.h and .config; --profile overrides it, and a
 * series' `profile` file that disagrees with the tree of the whole series stops the run.
 */
async function famfsOf(req: KernelRequest, p: BuildPlan): Promise<FamfsDetection> {
  const tree = p.patches.length ? treeDir(p.source.id, p.patches) : p.source.path;
  const read = () =>
    Promise.all([Deno.readTextFile(`${p.dir}/fuse.h`), Deno.readTextFile(`${p.dir}/config`)])
      .then(([h, c]) => detectProfile(h, c, `the built tree ${tree}`));
  if (req.profile) {
    const said = await read().then((d) => d.profile ?? "no famfs support", (e: Error) => e.message);
    return {
      profile: req.profile === "none" ? null : req.profile,
      how: `--profile ${req.profile} given (the tree says: ${said})`,
    };
  }
  const detected = await read();
  // A prefix of a series may stop before the patch that adds famfs: its profile file speaks for the whole series.
  const stated = p.partial ? null : await seriesProfileFile(p.seriesPath);
  if (stated && stated !== (detected.profile ?? "none")) {
    throw new KernelBuildError(
      `series ${p.seriesPath}: its profile file says ${stated}, but ${detected.how}; ` +
        `fix the profile file or pass --profile`,
    );
  }
  return detected;
}
