/**
 * The namespace built from a replayed log. Node ids are a pure function of
 * the log (entry index), so every worker thread builds identical trees.
 */
import { DT_DIR, DT_REG, S_IFDIR, S_IFREG } from "../fuse/abi.ts";
import type { Fmap, LogEntry } from "./log.ts";
import { NameIndex } from "./name_index.ts";

export type MetaKind = "superblock" | "log";

export interface Node {
  ino: bigint;
  name: string;
  parent: bigint;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  children?: Map<string, bigint>;
  fmap?: Fmap;
  meta?: MetaKind;
}

export const ROOT_INO = 1n;
export const META_DIR_INO = 2n;
export const SB_INO = 3n;
export const LOG_INO = 4n;
const ENTRY_BASE = 1000n;
const IMPLICIT_BASE = 1n << 40n;

export class Tree {
  readonly nodes = new Map<bigint, Node>();
  /** The same nodes keyed by Number(ino) (all inode numbers are below 2^53): a Map lookup by bigint key costs
   * a runtime call, and the request handlers look nodes up on every request. */
  private readonly byNumber = new Map<number, Node>();
  private readonly byName = new NameIndex<Node>();
  replayed = 0;

  constructor() {
    this.put(dir(ROOT_INO, "", ROOT_INO, 0o755, 0, 0));
    this.add(ROOT_INO, dir(META_DIR_INO, ".meta", ROOT_INO, 0o700, 0, 0));
    this.add(META_DIR_INO, {
      ino: SB_INO,
      name: ".superblock",
      parent: META_DIR_INO,
      mode: S_IFREG | 0o444,
      uid: 0,
      gid: 0,
      size: 0x200000,
      meta: "superblock",
    });
  }

  /** Adds .meta/.log once the superblock is known. */
  setLog(logOffset: number, logLen: number): void {
    if (this.nodes.has(LOG_INO)) return;
    this.add(META_DIR_INO, {
      ino: LOG_INO,
      name: ".log",
      parent: META_DIR_INO,
      mode: S_IFREG | 0o644,
      uid: 0,
      gid: 0,
      size: logLen,
      meta: "log",
      fmap: {
        type: "simple",
        extents: [{ devindex: 0, offset: logOffset, len: logLen }],
      },
    });
  }

  private put(n: Node): void {
    this.nodes.set(n.ino, n);
    this.byNumber.set(Number(n.ino), n);
  }

  private add(parent: bigint, n: Node): void {
    this.put(n);
    this.get(parent)!.children!.set(n.name, n.ino);
    this.byName.add(Number(parent), n.name, n);
  }

  get(ino: bigint): Node | undefined {
    return this.byNumber.get(Number(ino));
  }

  /** Applies log entry `index`. Returns an error string when it cannot be placed. */
  apply(index: number, e: LogEntry): string | undefined {
    const parts = e.path.split("/");
    let cur = ROOT_INO;
    for (let d = 0; d < parts.length - 1; d++) {
      const p = this.nodes.get(cur)!;
      const next = p.children!.get(parts[d]);
      if (next === undefined) {
        const ino = IMPLICIT_BASE + BigInt(index) * 64n + BigInt(d);
        this.add(cur, dir(ino, parts[d], cur, 0o755, e.uid, e.gid));
        cur = ino;
      } else {
        if (!this.nodes.get(next)!.children) {
          return `entry ${index}: "${parts.slice(0, d + 1).join("/")}" is a file`;
        }
        cur = next;
      }
    }
    const name = parts[parts.length - 1];
    const parent = this.nodes.get(cur)!;
    if (parent.children!.has(name)) {
      const existing = this.nodes.get(parent.children!.get(name)!)!;
      if (e.kind === "mkdir" && existing.children) return undefined;
      return `entry ${index}: "${e.path}" already exists; ignored`;
    }
    const ino = ENTRY_BASE + BigInt(index);
    if (e.kind === "mkdir") {
      this.add(cur, dir(ino, name, cur, e.mode & 0o7777, e.uid, e.gid));
    } else {
      this.add(cur, {
        ino,
        name,
        parent: cur,
        mode: S_IFREG | (e.mode & 0o7777),
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        fmap: e.fmap,
      });
    }
    return undefined;
  }

  /** The child named by the UTF-8 bytes name[0, end) (as a LOOKUP carries it); undefined: ask lookup(). */
  lookupBytes(parent: bigint, name: Uint8Array, end: number): Node | undefined {
    return this.byName.find(Number(parent), name, end);
  }

  lookup(parent: bigint, name: string): Node | undefined {
    const id = this.get(parent)?.children?.get(name);
    return id === undefined ? undefined : this.get(id);
  }

  /** Stable slot for shared attribute overrides. */
  static slotOf(ino: bigint): number {
    if (ino < ENTRY_BASE) return Number(ino);
    if (ino < IMPLICIT_BASE) return 8 + Number(ino - ENTRY_BASE);
    return -1;
  }

  static dtype(n: Node): number {
    return n.children ? DT_DIR : DT_REG;
  }

  /** Path relative to the root. */
  pathOf(n: Node): string {
    const parts: string[] = [];
    let cur: Node | undefined = n;
    while (cur && cur.ino !== ROOT_INO) {
      parts.unshift(cur.name);
      cur = this.nodes.get(cur.parent);
    }
    return parts.join("/");
  }
}

function dir(
  ino: bigint,
  name: string,
  parent: bigint,
  perm: number,
  uid: number,
  gid: number,
): Node {
  return {
    ino,
    name,
    parent,
    mode: S_IFDIR | perm,
    uid,
    gid,
    size: 4096,
    children: new Map(),
  };
}
