/**
 * fsck and listing of a famfs device, image or mount: the superblock and log checked, the log
 * replayed into the same namespace the daemon serves, allocation overlaps found.
 */
import { Allocator } from "./alloc.ts";
import { LogError, SuperblockError } from "./errors.ts";
import type { Fmap } from "./log.ts";
import { type Meta, openMeta, type OpenMetaOptions } from "./meta.ts";
import type { Role } from "./system_uuid.ts";
import { META_DIR_INO, type Node, ROOT_INO, Tree } from "./tree.ts";

/** One directory or file of the namespace, as replayed from the log. */
export interface Listed {
  path: string;
  kind: "dir" | "file";
  mode: number;
  uid: number;
  gid: number;
  /** Files: fm_size. */
  size: number;
  fmap?: Fmap;
}

/** The namespace the log describes, depth first in log order (.meta left out), and placement errors. */
export function listNamespace(m: Meta): { listing: Listed[]; errors: string[] } {
  const tree = new Tree();
  const errors: string[] = [];
  for (const { index, entry } of m.replay.entries) {
    const err = tree.apply(index, entry);
    if (err) errors.push(err);
  }
  const listing: Listed[] = [];
  const walk = (n: Node) => {
    for (const ino of n.children?.values() ?? []) {
      if (ino === META_DIR_INO) continue;
      const c = tree.nodes.get(ino)!;
      listing.push({
        path: tree.pathOf(c),
        kind: c.children ? "dir" : "file",
        mode: c.mode,
        uid: c.uid,
        gid: c.gid,
        size: c.children ? 0 : c.size,
        fmap: c.fmap,
      });
      walk(c);
    }
  };
  walk(tree.nodes.get(ROOT_INO)!);
  return { listing, errors };
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function describeFmap(f: Fmap): string {
  if (f.type === "simple") {
    return `simple ${f.extents.map((x) => `[dev${x.devindex} ${hex(x.offset)}+${hex(x.len)}]`).join(" ")}`;
  }
  return f.iext.map((ie) =>
    `interleave ${ie.nstrips} strips x ${hex(ie.chunkSize)} chunks ` +
    ie.strips.map((x) => `[dev${x.devindex} ${hex(x.offset)}+${hex(x.len)}]`).join(" ")
  ).join(" ");
}

export function describeListed(l: Listed): string {
  const mode = l.mode.toString(8).padStart(7, "0");
  if (l.kind === "dir") return `dir  ${l.path} mode ${mode} uid ${l.uid} gid ${l.gid}`;
  return `file ${l.path} ${l.size} bytes mode ${mode} uid ${l.uid} gid ${l.gid} ${describeFmap(l.fmap!)}`;
}

export interface FsckReport {
  errors: string[];
  files: number;
  dirs: number;
  /** ADD_DAXDEV entries accepted and skipped. */
  daxdevs: number;
  /** Absent when the superblock or log header is unreadable. */
  role?: Role;
  listing: Listed[];
}

/** Checks `target` (read-only for a device or image). Corruption lands in `errors`, never throws for it. */
export function fsck(target: string, opts: Omit<OpenMetaOptions, "readOnly"> = {}): FsckReport {
  let m: Meta;
  try {
    m = openMeta(target, { ...opts, readOnly: true });
  } catch (e) {
    if (e instanceof SuperblockError || e instanceof LogError) {
      return { errors: [e.message], files: 0, dirs: 0, daxdevs: 0, listing: [] };
    }
    throw e;
  }
  try {
    const errors = m.replay.errors.map((e) => e.message);
    const entries = m.replay.entries.map((x) => x.entry);
    const a = Allocator.fromEntries(m.deviceSize, m.sb.logOffset, m.sb.logLen, entries);
    for (const o of a.overlaps) {
      errors.push(`allocation overlap: ${o.path} reuses device offset ${hex(o.offset)}`);
    }
    const ns = listNamespace(m);
    errors.push(...ns.errors);
    return {
      errors,
      files: entries.filter((e) => e.kind === "file").length,
      dirs: entries.filter((e) => e.kind === "mkdir").length,
      daxdevs: m.replay.daxdevs.length,
      role: m.role,
      listing: ns.listing,
    };
  } finally {
    m.close();
  }
}
