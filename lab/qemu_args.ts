// Pure rendering of a guest (topology + kernel + run folder) into a QEMU command line.
import type { CxlFabric, Topology } from "./topology.ts";

export interface GuestSpec {
  topology: Topology;
  kernel: string;
  /** Host folder shared read-write with the guest as /run/lab (console, keys, setup, results). */
  runDir: string;
  /** Absolute path of the guest init on the host root (seen at the same path in the guest). */
  init: string;
  sshPort: number;
  accel: "kvm" | "tcg";
  /** Extra kernel command line words (e.g. from --append). */
  append?: string[];
}

export const QEMU = "qemu-system-x86_64";
export const GUEST_IP = "10.0.2.15";
export const QBOOT = "/usr/share/qemu/qboot.rom";

export function kernelCommandLine(spec: GuestSpec): string {
  return [
    "console=ttyS0",
    "root=hostroot",
    "rootfstype=9p",
    "rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose",
    "ro",
    `init=${spec.init}`,
    "panic=-1",
    "quiet",
    // CXL RAM regions come up as system RAM; keep them offline so they can be made devdax.
    "memhp_default_state=offline",
    `ip=${GUEST_IP}::10.0.2.2:255.255.255.0::eth0:off`,
    ...(spec.append ?? []),
  ].join(" ");
}

function pmemArgs(spec: GuestSpec): string[] {
  return spec.topology.pmem.flatMap((p) => {
    const file = p.backing ?? `${p.id}.img`;
    const path = file.startsWith("/") ? file : `${spec.runDir}/${file}`;
    return [
      "-object",
      `memory-backend-file,id=${p.id}-mem,share=on,mem-path=${path},size=${p.sizeMiB}M,align=2M`,
      "-device",
      `nvdimm,id=${p.id},memdev=${p.id}-mem`,
    ];
  });
}

/** CFMW windows: one per host bridge, plus one across all bridges for cross-bridge interleave. */
export function cxlWindows(
  cxl: CxlFabric,
): { targets: number[]; index: number }[] {
  const single = Array.from(
    { length: cxl.hostBridges },
    (_, i) => ({ targets: [i], index: i }),
  );
  if (cxl.hostBridges === 1) return single;
  return [...single, {
    targets: single.map((w) => w.index),
    index: cxl.hostBridges,
  }];
}

function cxlMachineOptions(cxl: CxlFabric): string[] {
  return cxlWindows(cxl).flatMap((w) => [
    ...w.targets.map((t, i) => `cxl-fmw.${w.index}.targets.${i}=cxl.${t}`),
    `cxl-fmw.${w.index}.size=${cxl.windowGiB}G`,
    ...(w.targets.length > 1 ? [`cxl-fmw.${w.index}.interleave-granularity=4k`] : []),
  ]);
}

/** Serial numbers let the guest setup find each QEMU device among /sys/bus/cxl/devices/mem*. */
export function cxlSerial(cxl: CxlFabric, deviceId: string): number {
  return cxl.devices.findIndex((d) => d.id === deviceId) + 1;
}

function cxlArgs(cxl: CxlFabric): string[] {
  const args: string[] = [];
  for (let b = 0; b < cxl.hostBridges; b++) {
    args.push(
      "-device",
      `pxb-cxl,id=cxl.${b},bus=pcie.0,bus_nr=${52 + b * 32}`,
    );
    for (let p = 0; p < cxl.rootPortsPerBridge; p++) {
      args.push(
        "-device",
        `cxl-rp,id=rp${b}-${p},bus=cxl.${b},chassis=${b},slot=${p},port=${p}`,
      );
      const switched = cxl.devices.filter((d) => d.hostBridge === b && d.rootPort === p && d.behindSwitch);
      if (switched.length > 0) {
        args.push("-device", `cxl-upstream,bus=rp${b}-${p},id=us${b}-${p}`);
        switched.forEach((d, i) => {
          args.push(
            "-device",
            `cxl-downstream,port=${i},bus=us${b}-${p},id=ds-${d.id},chassis=${16 + b},slot=${p * 8 + i}`,
          );
        });
      }
    }
  }
  for (const d of cxl.devices) {
    const bus = d.behindSwitch ? `ds-${d.id}` : `rp${d.hostBridge}-${d.rootPort}`;
    args.push(
      "-object",
      `memory-backend-ram,id=${d.id}-mem,share=on,size=${d.sizeMiB}M`,
      "-device",
      `cxl-type3,bus=${bus},volatile-memdev=${d.id}-mem,id=${d.id},sn=${cxlSerial(cxl, d.id)}`,
    );
  }
  return args;
}

/** The full argv (argv[0] is the QEMU binary) for one guest. Pure: same spec, same argv. */
export function renderQemuArgs(spec: GuestSpec): string[] {
  const t = spec.topology;
  const pmemMiB = t.pmem.reduce((s, p) => s + p.sizeMiB, 0);
  const machine = [
    "q35",
    "nvdimm=on",
    ...(t.cxl ? ["cxl=on", ...cxlMachineOptions(t.cxl)] : []),
  ];
  return [
    QEMU,
    "-machine",
    machine.join(","),
    "-accel",
    spec.accel,
    "-cpu",
    spec.accel === "kvm" ? "host" : "max",
    "-smp",
    String(t.cpus),
    "-m",
    `${t.memoryMiB}M,slots=4,maxmem=${t.memoryMiB + pmemMiB + 1024}M`,
    // qboot boots faster than SeaBIOS but does not enumerate CXL host bridges.
    ...(t.cxl ? [] : ["-bios", QBOOT]),
    "-nodefaults",
    "-display",
    "none",
    "-no-reboot",
    "-kernel",
    spec.kernel,
    "-append",
    kernelCommandLine(spec),
    "-chardev",
    `file,id=console,path=${spec.runDir}/console.log`,
    "-serial",
    "chardev:console",
    "-qmp",
    `unix:${spec.runDir}/qmp.sock,server=on,wait=off`,
    "-pidfile",
    `${spec.runDir}/qemu.pid`,
    "-fsdev",
    "local,id=hostroot,path=/,security_model=none,readonly=on",
    "-device",
    "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
    "-fsdev",
    `local,id=labrun,path=${spec.runDir},security_model=none`,
    "-device",
    "virtio-9p-pci,fsdev=labrun,mount_tag=labrun",
    "-netdev",
    `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    "-device",
    "virtio-net-pci,netdev=net0",
    ...pmemArgs(spec),
    ...(t.cxl ? cxlArgs(t.cxl) : []),
  ];
}

/** Quotes argv for a POSIX shell (used for --dry-run and repro.sh). */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => /^[A-Za-z0-9_\-.,:=/@%+]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
}
