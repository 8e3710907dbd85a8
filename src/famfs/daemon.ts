/**
 * The famfs FUSE daemon: mounts a famfs device or image and serves it until unmounted. The
 * request handlers live in filesystem.ts (run in worker threads); this module sets up the
 * shared state they read (device and log mappings, master or client role) and the session.
 */
import * as libc from "../fuse/libc.ts";
import { FuseSession } from "../fuse/session.ts";
import { closeDevice, deviceSize, openDevice } from "./device.ts";
import { type FamfsServerConfig, Shared } from "./filesystem.ts";
import { replayLog } from "./log.ts";
import type { ProfileName } from "./profiles.ts";
import type { Scenario } from "./scenario.ts";
import { checkSuperblock, FAMFS_LOG_OFFSET, SUPERBLOCK_STRUCT_SIZE } from "./superblock.ts";
import { roleOf, systemUuid } from "./system_uuid.ts";

export interface DaemonOptions {
  device: string;
  mountpoint: string;
  profile: ProfileName;
  /** Map the device in the daemon (no famfs kernel support needed) instead of through the mount. */
  compat: boolean;
  scenario?: Scenario;
  requestLog?: string;
  workers: number;
  daxdevName: string;
  entryTimeoutMs: number;
  attrTimeoutMs: number;
  /** This host's system UUID (text); default: see systemUuid(). A client serves files read-only. */
  systemUuid?: string;
}

/**
 * Mounts and serves until unmounted; prints "famfs: ready <mountpoint>" once mounted.
 * SIGTERM/SIGINT unmount. Resolves to the process exit code (0 after a clean unmount).
 */
export async function serve(o: DaemonOptions): Promise<number> {
  const system = systemUuid(o.systemUuid).uuid;
  const shared = new SharedArrayBuffer(Shared.bytes());
  const slots = new BigInt64Array(shared, 0, 8);
  const cleanups: Array<() => void> = [];
  let dev: ReturnType<typeof openDevice> | undefined;
  if (o.compat) {
    dev = openDevice(o.device);
    const sb = checkSuperblock(dev.map.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE), o.device, dev.size);
    replayLog(dev.map.bytes.subarray(sb.logOffset, sb.logOffset + sb.logLen), sb.logOffset, sb.logLen, dev.size);
    const base = BigInt(Deno.UnsafePointer.value(dev.map.ptr));
    slots[Shared.DEV_PTR] = base;
    slots[Shared.DEV_SIZE] = BigInt(dev.size);
    slots[Shared.LOG_OFFSET] = BigInt(sb.logOffset);
    slots[Shared.LOG_LEN] = BigInt(sb.logLen);
    slots[Shared.SB_PTR] = base;
    slots[Shared.LOG_PTR] = base + BigInt(sb.logOffset);
    slots[Shared.CLIENT] = roleOf(sb, system) === "client" ? 1n : 0n;
  } else {
    slots[Shared.DEV_SIZE] = BigInt(deviceSize(o.device).size);
  }
  const presets = makePresets(o.scenario, o.device, cleanups);
  const cfg: FamfsServerConfig = {
    device: o.device,
    compat: o.compat,
    profile: o.profile,
    daxdevName: o.daxdevName,
    scenario: o.scenario,
    requestLog: o.requestLog,
    presets,
    entryTimeoutMs: o.entryTimeoutMs,
    attrTimeoutMs: o.attrTimeoutMs,
  };
  const session = FuseSession.mount({
    mountpoint: o.mountpoint,
    source: o.device,
    subtype: "famfs",
    workers: o.workers,
    maxWrite: 1 << 20,
    allowOther: true,
    defaultPermissions: true,
    serverModule: new URL("./filesystem.ts", import.meta.url).href,
    serverConfig: cfg,
    shared,
  });
  session.onServerMessage = (msg) => {
    if ((msg as { type?: string }).type === "crash") {
      console.error("famfs: scenario crashAfterReply: exiting without unmount");
      Deno.exit(99);
    }
  };
  const stop = () => session.unmount();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const done = session.run();
  try {
    await session.initDone;
    if (!o.compat) await bootstrapThroughMount(o.mountpoint, o.device, system, slots, cleanups);
    console.log(`famfs: ready ${o.mountpoint}`);
  } catch (e) {
    console.error(`famfs: ${(e as Error).message}`);
    session.unmount();
  }
  const reason = await done;
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  for (const c of cleanups.reverse()) c();
  if (dev) closeDevice(dev);
  switch (reason) {
    case "unmounted":
      console.error(`famfs: unmounted ${o.mountpoint}`);
      return 0;
    case "aborted":
      console.error(`famfs: connection aborted by the kernel; detached ${o.mountpoint}`);
      return 0;
    case "init-refused":
      console.error(`famfs: INIT refused; ${o.mountpoint} not mounted`);
      return 2;
    default:
      return 1;
  }
}

/**
 * famfs mode: map .meta/.superblock and .meta/.log through our own mount
 * (the kernel's DAX path does the access; workers serve the requests).
 */
async function bootstrapThroughMount(
  mnt: string,
  device: string,
  system: Uint8Array,
  slots: BigInt64Array,
  cleanups: Array<() => void>,
) {
  const sbFd = libc.open(`${mnt}/.meta/.superblock`, libc.O_RDONLY | libc.O_CLOEXEC);
  const sbMap = libc.mmapFd(sbFd, FAMFS_LOG_OFFSET, false, `${mnt}/.meta/.superblock`);
  cleanups.push(() => (libc.munmap(sbMap), libc.close(sbFd)));
  const sb = checkSuperblock(sbMap.bytes.subarray(0, SUPERBLOCK_STRUCT_SIZE), device, Number(slots[Shared.DEV_SIZE]));
  slots[Shared.LOG_OFFSET] = BigInt(sb.logOffset);
  Atomics.store(slots, Shared.CLIENT, roleOf(sb, system) === "client" ? 1n : 0n);
  Atomics.store(slots, Shared.LOG_LEN, BigInt(sb.logLen));
  await Promise.resolve();
  const logFd = libc.open(`${mnt}/.meta/.log`, libc.O_RDWR | libc.O_CLOEXEC);
  const logMap = libc.mmapFd(logFd, sb.logLen, true, `${mnt}/.meta/.log`);
  cleanups.push(() => (libc.munmap(logMap), libc.close(logFd)));
  replayLog(logMap.bytes, sb.logOffset, sb.logLen, Number(slots[Shared.DEV_SIZE]));
  Atomics.store(slots, Shared.LOG_PTR, BigInt(Deno.UnsafePointer.value(logMap.ptr)));
}

function makePresets(s: Scenario | undefined, device: string, cleanups: Array<() => void>) {
  let regular = "/etc/hostname";
  if (s?.rules.some((r) => r.name === "@regular")) {
    const tmp = Deno.makeTempFileSync({ prefix: "famfs-scenario-regular-" });
    cleanups.push(() => Deno.removeSync(tmp));
    regular = tmp;
  }
  let nodev: string | undefined;
  if (s?.rules.some((r) => r.name === "@nodev")) {
    const dir = Deno.makeTempDirSync({ prefix: "famfs-nodev-" });
    libc.mount("tmpfs", dir, "tmpfs", libc.MS_NODEV, "size=64k,mode=0700");
    const st = libc.statPath(device);
    const rdev = st && (st.mode & libc.S_IFMT) === libc.S_IFCHR ? st.rdev : (1n << 8n) | 3n;
    nodev = `${dir}/daxnode`;
    libc.mknod(nodev, libc.S_IFCHR | 0o600, rdev);
    cleanups.push(() => {
      libc.umount2(dir, libc.MNT_DETACH);
      Deno.removeSync(dir);
    });
  }
  return { regular, nodev };
}
