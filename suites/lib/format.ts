// A famfs file system with seeded files on a suite's device: mkfs, create the files through a daemon.
import { must, type SuiteContext } from "../contract/mod.ts";
import { bindDax, type FamfsDevice, famfsDevice } from "./dax.ts";
import { type Daemon, killDaemon, startDaemon, stopDaemon } from "./daemon.ts";
import { famfsCli } from "./shell.ts";
import { runProbe } from "./probe.ts";
import type { SeededFileSpec } from "./probe_ops.ts";

/** mkfs (device_dax mode: the tool maps the raw device), leaving the device bound to `after` (fsdev_dax). */
export async function mkfs(
  ctx: SuiteContext,
  dev: FamfsDevice,
  after: "fsdev_dax" | "device_dax" = "fsdev_dax",
): Promise<void> {
  await bindDax(ctx, dev.dax, "device_dax");
  await must(ctx, `${famfsCli(ctx)} mkfs ${dev.path} --force`, 300_000);
  await bindDax(ctx, dev.dax, after);
}

/** Creates seeded files on a mounted famfs (one guest process); returns each file's fmap (JSON) by path. */
export async function createFiles(
  ctx: SuiteContext,
  d: Daemon,
  files: SeededFileSpec[],
): Promise<Record<string, string>> {
  const dirs = [...new Set(files.map((f) => f.rel.split("/").slice(0, -1).join("/")).filter((x) => x))];
  for (const dir of dirs) await must(ctx, `test -d ${d.mnt}/${dir} || ${famfsCli(ctx)} mkdir ${d.mnt}/${dir}`, 120_000);
  const [r] = await runProbe(ctx, [{ op: "create", mnt: d.mnt, files }], {
    timeoutMs: 120_000 + 60_000 * files.length,
  });
  if (r.error) throw new Error(`creating ${files.map((f) => f.rel).join(", ")} failed: ${r.call} ${r.error}`);
  return (r.files ?? {}) as Record<string, string>;
}

/**
 * mkfs on the device, then creates the files with a plain daemon and stops it; the device is left bound to
 * fsdev_dax. Returns the fmaps (JSON) by path.
 */
export async function formatWithFiles(
  ctx: SuiteContext,
  dev: FamfsDevice,
  mnt: string,
  files: SeededFileSpec[],
): Promise<Record<string, string>> {
  await mkfs(ctx, dev, "fsdev_dax");
  const d = await startDaemon(ctx, dev.path, mnt, { name: "famfs-format" });
  try {
    const fmaps = await createFiles(ctx, d, files);
    await stopDaemon(ctx, d);
    return fmaps;
  } catch (e) {
    await killDaemon(ctx, d);
    throw e;
  }
}

/** mkfs on the suite's device (the first), creates the files, leaves the device bound to fsdev_dax. */
export async function prepareFs(ctx: SuiteContext, mnt: string, files: SeededFileSpec[]): Promise<void> {
  await formatWithFiles(ctx, famfsDevice(ctx), mnt, files);
}
