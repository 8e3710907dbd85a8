// Provisioning: the Debian packages the lab needs, installed idempotently. The decisions are a
// pure function of the machine's state so that they can be tested without touching apt.
import { $ } from "zx";

/** From bookworm-backports: QEMU 10 (bookworm's 7.2 lacks the CXL fixes the topologies use). */
export const BACKPORTS_PACKAGES = ["qemu-system-x86"] as const;
export const PACKAGES = [
  // guest userspace, run from the host root over 9p
  "ndctl",
  "daxctl",
  "openssh-server",
  // host side of the lab
  "openssh-client",
  "util-linux",
  "git",
  // kernel builds
  "build-essential",
  "flex",
  "bison",
  "bc",
  "libelf-dev",
  "libssl-dev",
  "ccache",
  "cpio",
  "xz-utils",
  // the run report's check (index.html loaded in headless Chromium)
  "chromium",
  // the C reference FUSE server of the daemon benchmark
  "libfuse3-dev",
  "fuse3",
  "pkg-config",
] as const;
export const MIN_QEMU_MAJOR = 10;
export const BACKPORTS_LIST = "/etc/apt/sources.list.d/famfs-lab-bookworm-backports.list";

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProvisionError";
  }
}

/**
 * The Debian archive URI this machine already uses, from deb822 `.sources` text or one-line
 * `sources.list` text; security and third-party archives are skipped.
 */
export function archiveUri(sourcesFiles: string[]): string | null {
  for (const text of sourcesFiles) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = stanza.match(/^URIs:\s*(\S+)/m)?.[1];
      const suites = stanza.match(/^Suites:\s*(.+)$/m)?.[1] ?? "";
      if (
        uris && /\bbookworm\b/.test(suites) && !/security/.test(uris + suites)
      ) return uris.replace(/\/$/, "");
    }
    for (const line of text.split("\n")) {
      const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/);
      if (m && !/security/.test(m[1])) return m[1].replace(/\/$/, "");
    }
  }
  return null;
}

export interface MachineState {
  root: boolean;
  /** Installed package -> version (dpkg's), for the packages the lab asks about. */
  installed: Map<string, string>;
  backportsListed: boolean;
  archive: string | null;
}

export interface ProvisionPlan {
  /** Text of the backports apt source to write, when missing. */
  writeBackports: string | null;
  install: string[];
  installBackports: string[];
}

export function qemuMajor(version: string | undefined): number {
  const m = version?.match(/^(?:\d+:)?(\d+)\./);
  return m ? Number(m[1]) : 0;
}

export function planProvision(s: MachineState): ProvisionPlan {
  const install = PACKAGES.filter((p) => !s.installed.has(p));
  const installBackports = BACKPORTS_PACKAGES.filter((p) => qemuMajor(s.installed.get(p)) < MIN_QEMU_MAJOR);
  if (installBackports.length > 0 && !s.backportsListed && !s.archive) {
    throw new ProvisionError(
      "cannot find the Debian archive in /etc/apt (no 'bookworm' source); add one, e.g. a deb822 " +
        "file in /etc/apt/sources.list.d/ with URIs: <your mirror> and Suites: bookworm",
    );
  }
  return {
    writeBackports: installBackports.length > 0 && !s.backportsListed
      ? `deb ${s.archive} bookworm-backports main\n`
      : null,
    install,
    installBackports,
  };
}

export function isEmpty(p: ProvisionPlan): boolean {
  return p.writeBackports === null && p.install.length === 0 &&
    p.installBackports.length === 0;
}

/** The exact commands a root user runs to carry out the plan (shown to non-root users). */
export function planCommands(p: ProvisionPlan): string[] {
  const cmds: string[] = [];
  if (p.writeBackports) {
    cmds.push(`echo '${p.writeBackports.trim()}' > ${BACKPORTS_LIST}`);
  }
  if (!isEmpty(p)) cmds.push("apt-get update");
  const apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends";
  if (p.installBackports.length) {
    cmds.push(`${apt} -t bookworm-backports ${p.installBackports.join(" ")}`);
  }
  if (p.install.length) cmds.push(`${apt} ${p.install.join(" ")}`);
  return cmds;
}

/** The text of every apt source file of this machine. */
export async function readSourcesFiles(): Promise<string[]> {
  const files = ["/etc/apt/sources.list"];
  try {
    for (const e of Deno.readDirSync("/etc/apt/sources.list.d")) {
      files.push(`/etc/apt/sources.list.d/${e.name}`);
    }
  } catch { /* no sources.list.d */ }
  const texts: string[] = [];
  for (const f of files.sort()) {
    try {
      texts.push(await Deno.readTextFile(f));
    } catch { /* unreadable or gone */ }
  }
  return texts;
}

export async function machineState(): Promise<MachineState> {
  const names = [...PACKAGES, ...BACKPORTS_PACKAGES];
  const q = await $({
    nothrow: true,
    quiet: true,
  })`dpkg-query -W -f=${"${Package} ${Status} ${Version}\n"} ${names}`;
  const installed = new Map<string, string>();
  for (const line of q.stdout.split("\n")) {
    const [pkg, , , state, version] = line.split(" ");
    if (state === "installed") installed.set(pkg.replace(/:.*/, ""), version);
  }
  const sources = await readSourcesFiles();
  return {
    root: Deno.uid() === 0,
    installed,
    backportsListed: sources.some((t) => /bookworm-backports/.test(t)),
    archive: archiveUri(sources),
  };
}

/** Installs what is missing; quick (one dpkg-query) when everything is there. */
export async function provision(
  log: (line: string) => void,
): Promise<ProvisionPlan> {
  const plan = planProvision(await machineState());
  if (isEmpty(plan)) {
    log("provision: all packages present");
    return plan;
  }
  if (Deno.uid() !== 0) {
    throw new ProvisionError(
      `missing packages: ${[...plan.installBackports, ...plan.install].join(" ")}\nRun as root:\n  ` +
        planCommands(plan).join("\n  "),
    );
  }
  log(
    `provision: installing ${[...plan.installBackports, ...plan.install].join(" ")}`,
  );
  if (plan.writeBackports) {
    await Deno.writeTextFile(BACKPORTS_LIST, plan.writeBackports);
  }
  const env = { ...Deno.env.toObject(), DEBIAN_FRONTEND: "noninteractive" };
  const apt = $({ env, quiet: true });
  await apt`apt-get update`;
  const opts = ["-y", "--no-install-recommends"];
  if (plan.installBackports.length) {
    await apt`apt-get install ${opts} -t bookworm-backports ${plan.installBackports}`;
  }
  if (plan.install.length) await apt`apt-get install ${opts} ${plan.install}`;
  log("provision: done");
  return plan;
}
