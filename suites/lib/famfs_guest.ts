// The famfs suites' guest helpers, one module per concept: devices (dax.ts), the daemon (daemon.ts), a formatted
// file system with seeded files (format.ts), the probe (probe.ts, probe_ops.ts, famfs_probe.ts in the guest),
// GET_DAXDEV refusals (daxdev_refusal.ts) and shell basics (shell.ts).
export * from "./dax.ts";
export * from "./daxdev_refusal.ts";
export * from "./daemon.ts";
export * from "./format.ts";
export * from "./probe.ts";
export * from "./shell.ts";
export type * from "./probe_ops.ts";
