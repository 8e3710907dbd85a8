// The guest's DAX devices as famfs suites use them: pick one, (re)bind it to a driver, read its driver.
import { must, type SuiteContext } from "../contract/mod.ts";

export interface FamfsDevice {
  /** Topology id of the device. */
  id: string;
  /** /dev/daxX.Y */
  path: string;
  /** daxX.Y */
  dax: string;
  bytes: number;
}

/** The `index`-th DAX device of the topology (0: the one famfs suites format), or undefined. */
export function pickDevice(ctx: SuiteContext, index = 0): FamfsDevice | undefined {
  const d = ctx.guest.devices[index];
  return d && { id: d.id, path: d.path, dax: d.path.replace("/dev/", ""), bytes: d.bytes };
}

/** Like pickDevice(ctx, index) but throws when the topology has no such device. */
export function famfsDevice(ctx: SuiteContext, index = 0): FamfsDevice {
  const d = pickDevice(ctx, index);
  if (!d) throw new Error(`topology ${ctx.guest.topology} has no DAX device #${index}`);
  return d;
}

export async function bindDax(ctx: SuiteContext, dax: string, driver: "fsdev_dax" | "device_dax"): Promise<void> {
  await must(ctx, `. ${ctx.repo}/vm-images/guest/dax.sh; bind_dax ${dax} ${driver}`, 30_000);
}

export async function daxDriver(ctx: SuiteContext, dax: string): Promise<string> {
  return (await must(ctx, `basename "$(readlink -f /sys/bus/dax/devices/${dax}/driver)"`)).trim();
}
