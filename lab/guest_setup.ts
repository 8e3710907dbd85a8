// Pure rendering of the files a guest reads from its run folder at boot.
import { cxlSerial, cxlWindows } from "./qemu_args.ts";
import type { Topology } from "./topology.ts";

/**
 * setup.sh: one call of vm-images/guest/dax.sh per DAX device of the topology. `host` is the guest's
 * index on a multi-host topology: only the first creates namespaces on the shared media; the others
 * use the devdax namespace their kernel probed from the info block the first one wrote.
 */
export function renderSetupScript(t: Topology, host = 0): string {
  const lines = [
    `# famfs-lab guest setup for topology "${t.name}"${
      t.hosts > 1 ? ` host ${host + 1} of ${t.hosts}` : ""
    } (generated).`,
  ];
  t.pmem.forEach((p, i) => {
    if (host > 0) lines.push(`pmem_devdax_probed ${p.id} ${i} ${p.driver}`);
    // Shared media keeps no struct pages: each guest's kernel keeps its own page state in its RAM.
    else lines.push(`pmem_devdax ${p.id} ${i} ${p.driver}${p.shared ? " mem" : ""}`);
  });
  const cxl = t.cxl;
  if (cxl) {
    const windows = cxlWindows(cxl);
    for (const r of cxl.regions) {
      const members = r.devices.map((id) => cxl.devices.find((d) => d.id === id)!);
      const bridges = [...new Set(members.map((d) => d.hostBridge))];
      // Root decoders are numbered in window order; a region spanning bridges needs the
      // window that interleaves across all of them.
      const window = bridges.length === 1 ? windows[bridges[0]] : windows[windows.length - 1];
      const bytes = members.reduce((s, d) => s + d.sizeMiB, 0) * 1024 * 1024;
      const serials = members.map((d) => cxlSerial(cxl, d.id)).join(" ");
      lines.push(
        `cxl_region ${r.id} decoder0.${window.index} ${r.granularity} ${bytes} ${r.driver} ${serials}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

export function renderSshdConfig(): string {
  return [
    "# famfs-lab guest sshd (generated): root login with this run's key only.",
    "Port 22",
    "HostKey /run/lab/ssh_host_ed25519_key",
    "AuthorizedKeysFile /run/lab/authorized_keys",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "UseDNS no",
    "PidFile /run/sshd.pid",
    "SetEnv DENO_DIR=/tmp/deno FAMFS_LAB_GUEST=1",
    "",
  ].join("\n");
}

export interface GuestDevice {
  id: string;
  path: string;
  driver: string;
  bytes: number;
}

/** Parses devices.txt ("<id> /dev/daxX.Y <driver> <bytes>" per line) written by dax.sh. */
export function parseDevices(text: string): GuestDevice[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const [id, path, driver, bytes] = l.trim().split(/\s+/);
    return { id, path, driver, bytes: Number(bytes) };
  });
}
