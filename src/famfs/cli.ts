/**
 * famfs command line: argument parsing and dispatch to the metadata library (mod.ts) and the
 * daemon (daemon.ts). Usage: deno run <perms> src/famfs/cli.ts --help
 */
import { S_IFDIR } from "../fuse/abi.ts";
import * as libc from "../fuse/libc.ts";
import { serve } from "./daemon.ts";
import { UsageError } from "./errors.ts";
import {
  createFile,
  describeFmap,
  describeListed,
  fsck,
  isDir,
  makeDirectory,
  mkfs,
  openMeta,
  seededBytes,
  systemUuid,
  verifySeeded,
  writeContent,
} from "./mod.ts";
import { profileByName, type ProfileName } from "./profiles.ts";
import { parseScenario, type Scenario } from "./scenario.ts";
import { FAMFS_LOG_LEN, uuidToString } from "./superblock.ts";

export const HELP = `famfs (famfs-lab TypeScript tools and FUSE daemon)

usage: deno run --allow-read --allow-write --allow-ffi --allow-env src/famfs/cli.ts <command> ...
       deno task famfs <command> ...

  mkfs <dev-or-file> [--log-len BYTES] [--force]
  mount <dev-or-file> <mountpoint> [--profile rfc-v2|v3|ref] [--compat] [--scenario FILE.json]
        [--request-log FILE.jsonl] [--workers N (default 2)] [--daxdev-name PATH]
        [--entry-timeout MS] [--attr-timeout MS]   (kernel cache timeouts, default 1000)
        Runs the daemon in the foreground; prints "famfs: ready <mountpoint>" once
        mounted; SIGTERM/SIGINT unmount; exit 0 after a clean unmount.
  umount <mountpoint>
  mkdir <mnt>/<path>
  creat <mnt>/<path> --size N --seed S [--interleave NSTRIPS:CHUNK]
  cp <src-file> <mnt>/<path>
  ls <dev-or-mnt>
  logplay <dev-or-mnt>
  fsck [--verbose] <dev-or-mnt>   exit 1 when the superblock, log or allocation is corrupt;
                                  --verbose lists every directory and file with size and extents
  verify <mnt>/<path> --seed S

Every command takes --system-uuid UUID: this host's famfs system UUID, which makes it the master
(UUID equal to the superblock's) or a client. Default: $FAMFS_SYSTEM_UUID, else the text UUID in
/opt/famfs/system_uuid (as real famfs), else /etc/machine-id. mkfs records it as the master's.

Sizes accept suffixes k, m, g (powers of 1024). Default profile: ref.`;

interface Args {
  pos: string[];
  opt: Map<string, string | true>;
}

const FLAGS = new Set(["compat", "force", "help", "verbose"]);

export function parseArgs(argv: string[]): Args {
  const pos: string[] = [];
  const opt = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [k, v] = a.slice(2).split("=", 2);
      if (v !== undefined) opt.set(k, v);
      else if (FLAGS.has(k)) opt.set(k, true);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`option --${k} needs a value`);
        opt.set(k, argv[++i]);
      }
    } else pos.push(a);
  }
  return { pos, opt };
}

export function parseSize(s: string, what: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(s.trim());
  if (!m) throw new UsageError(`${what}: "${s}" is not a size (e.g. 4096, 8m, 1g)`);
  const mult = { "": 1, k: 1024, m: 1 << 20, g: 1 << 30 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(m[1]) * mult;
}

function str(a: Args, k: string): string | undefined {
  const v = a.opt.get(k);
  if (v === true) throw new UsageError(`--${k} needs a value`);
  return v;
}

function need(a: Args, n: number, usage: string): void {
  if (a.pos.length < n) throw new UsageError(`usage: ${usage}`);
}

function mountCommand(a: Args): Promise<number> {
  need(a, 3, "mount <dev-or-file> <mountpoint> [options]");
  const [device, mountpoint] = [a.pos[1], a.pos[2]];
  const profile = (str(a, "profile") ?? "ref") as ProfileName;
  if (!profileByName(profile)) throw new UsageError(`--profile ${profile}: use rfc-v2, v3 or ref`);
  const workers = Number(str(a, "workers") ?? "2");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers: 1..64`);
  let scenario: Scenario | undefined;
  const scenarioFile = str(a, "scenario");
  if (scenarioFile) scenario = parseScenario(Deno.readTextFileSync(scenarioFile), scenarioFile);
  const requestLog = str(a, "request-log");
  if (requestLog) Deno.writeTextFileSync(requestLog, "", { append: true });
  if (!isDir(mountpoint)) throw new UsageError(`mount point ${mountpoint} is not a directory`);
  return serve({
    device,
    mountpoint,
    profile,
    compat: a.opt.get("compat") === true,
    scenario,
    requestLog,
    workers,
    daxdevName: str(a, "daxdev-name") ?? device,
    entryTimeoutMs: Number(str(a, "entry-timeout") ?? "1000"),
    attrTimeoutMs: Number(str(a, "attr-timeout") ?? "1000"),
    systemUuid: str(a, "system-uuid"),
  });
}

function seedOf(a: Args, cmd: string): number {
  const s = str(a, "seed");
  if (s === undefined) throw new UsageError(`${cmd} needs --seed S`);
  const seed = Number(s);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed ${s}: must be an integer`);
  return seed;
}

function fsckCommand(a: Args, systemUuidText: string | undefined): number {
  need(a, 2, "fsck [--verbose] <dev-or-mnt>");
  const r = fsck(a.pos[1], { systemUuid: systemUuidText });
  if (a.opt.get("verbose") === true) {
    for (const l of r.listing) console.log(describeListed(l));
  }
  for (const e of r.errors) console.log(`famfs fsck: ${e}`);
  console.log(
    `famfs fsck: ${a.pos[1]}: ${r.files} files, ${r.dirs} dirs, ${r.daxdevs} daxdev entries skipped, ` +
      `role ${r.role ?? "unknown"}, ${r.errors.length} errors`,
  );
  return r.errors.length ? 1 : 0;
}

function listCommand(a: Args, cmd: "ls" | "logplay", systemUuidText: string | undefined): number {
  need(a, 2, `${cmd} <dev-or-mnt>`);
  const m = openMeta(a.pos[1], { systemUuid: systemUuidText, readOnly: true });
  try {
    for (const { index, entry } of m.replay.entries) {
      if (cmd === "ls") {
        const mode = entry.kind === "mkdir" ? S_IFDIR | entry.mode : entry.mode;
        const size = entry.kind === "file" ? entry.size : "-";
        console.log(`${(mode & 0o170777).toString(8).padStart(7, "0")} ${size} ${entry.path}`);
      } else {
        const file = entry.kind === "file" ? ` ${entry.size} ${describeFmap(entry.fmap)}` : "";
        console.log(`${index} ${entry.kind} ${entry.path}${file}`);
      }
    }
    for (const e of m.replay.errors) console.error(`famfs: ${e.message}`);
    if (cmd === "logplay") {
      console.log(
        `famfs: ${m.replay.entries.length} entries, ${m.replay.daxdevs.length} daxdev entries skipped, role ${m.role}`,
      );
    }
    return m.replay.errors.length ? 1 : 0;
  } finally {
    m.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const cmd = a.pos[0];
  if (!cmd || a.opt.get("help") || cmd === "help") {
    console.log(HELP);
    return 0;
  }
  const sysUuid = str(a, "system-uuid");
  if (sysUuid !== undefined) systemUuid(sysUuid); // a malformed UUID is a usage error before anything runs
  switch (cmd) {
    case "mkfs": {
      need(a, 2, "mkfs <dev-or-file> [--log-len BYTES] [--force]");
      const ll = str(a, "log-len");
      const sb = mkfs(a.pos[1], {
        logLen: ll ? parseSize(ll, "--log-len") : FAMFS_LOG_LEN,
        force: a.opt.get("force") === true,
        systemUuid: sysUuid,
      });
      console.log(
        `famfs: mkfs ${a.pos[1]}: uuid ${uuidToString(sb.uuid)}, log 0x${sb.logOffset.toString(16)}+0x${
          sb.logLen.toString(16)
        }`,
      );
      return 0;
    }
    case "mount":
      return await mountCommand(a);
    case "umount": {
      need(a, 2, "umount <mountpoint>");
      const e = libc.umount2(a.pos[1], 0);
      if (e !== 0) {
        console.error(`famfs: umount ${a.pos[1]}: ${libc.strerror(e)}`);
        return 1;
      }
      return 0;
    }
    case "mkdir":
      need(a, 2, "mkdir <mnt>/<path>");
      await makeDirectory(a.pos[1], { systemUuid: sysUuid });
      return 0;
    case "creat": {
      need(a, 2, "creat <mnt>/<path> --size N --seed S [--interleave NSTRIPS:CHUNK]");
      const sizeS = str(a, "size");
      if (!sizeS) throw new UsageError("creat needs --size N and --seed S");
      const size = parseSize(sizeS, "--size");
      const seed = seedOf(a, "creat");
      let il: { nstrips: number; chunk: number } | undefined;
      const ilS = str(a, "interleave");
      if (ilS) {
        const [n, c] = ilS.split(":");
        if (!n || !c) throw new UsageError(`--interleave ${ilS}: expected NSTRIPS:CHUNK, e.g. 4:2m`);
        il = { nstrips: Number(n), chunk: parseSize(c, "--interleave chunk") };
      }
      const r = createFile(a.pos[1], size, il, { systemUuid: sysUuid });
      await writeContent(a.pos[1], size, (off, len) => seededBytes(seed, off, len));
      console.log(`${r.rel} ${size} ${describeFmap(r.fmap)}`);
      return 0;
    }
    case "cp": {
      need(a, 3, "cp <src-file> <mnt>/<path>");
      const data = await Deno.readFile(a.pos[1]);
      createFile(a.pos[2], data.byteLength, undefined, { systemUuid: sysUuid });
      await writeContent(a.pos[2], data.byteLength, (off, len) => data.subarray(off, off + len));
      return 0;
    }
    case "ls":
    case "logplay":
      return listCommand(a, cmd, sysUuid);
    case "fsck":
      return fsckCommand(a, sysUuid);
    case "verify": {
      need(a, 2, "verify <mnt>/<path> --seed S");
      const r = await verifySeeded(a.pos[1], seedOf(a, "verify"));
      if (r.mismatch >= 0) {
        console.log(`famfs verify: ${a.pos[1]}: mismatch at offset ${r.mismatch}`);
        return 1;
      }
      console.log(`famfs verify: ${a.pos[1]}: ${r.size} bytes ok`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"; see --help`);
  }
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (e) {
    const err = e as Error;
    const known = [
      "UsageError",
      "DeviceError",
      "SuperblockError",
      "LogError",
      "AllocError",
      "ScenarioError",
      "FuseMountError",
      "FuseInitError",
      "LibcError",
    ];
    console.error(`famfs: ${known.includes(err.name) ? err.message : err.stack ?? err}`);
    code = err.name === "UsageError" ? 2 : 1;
  }
  Deno.exit(code);
}
