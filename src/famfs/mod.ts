/**
 * The famfs metadata library (what suites, bench and the CLI use): format, open and replay the
 * metadata, create files and directories through a mount, fsck and list. The daemon is daemon.ts;
 * the command line is cli.ts.
 */
export { isDir, type Meta, mkfs, type MkfsOptions, openMeta, type OpenMetaOptions } from "./meta.ts";
export { createFile, type CreateOptions, makeDirectory, splitMountPath, verifySeeded, writeContent } from "./files.ts";
export { describeFmap, describeListed, fsck, type FsckReport, type Listed, listNamespace } from "./fsck.ts";
export { parseUuid, type Role, roleOf, SYSTEM_UUID_FILE, systemUuid } from "./system_uuid.ts";
export { seededBytes } from "./seed.ts";
