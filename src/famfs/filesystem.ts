/**
 * The famfs FUSE server. One instance runs in each worker thread; all share
 * the device mapping (compat mode) or the .meta mappings (famfs mode) through
 * pointers in shared memory, and build identical trees from the log.
 */
import { Errno, InitFlag, Opcode, S_IFMT, S_IFREG, SetattrValid, Size } from "../fuse/abi.ts";
import {
  type Attr,
  decodeAccessIn,
  decodeGetxattrIn,
  decodeName,
  decodeOpenIn,
  decodeReadIn,
  decodeSetattrIn,
  decodeWriteIn,
  defaultInitOut,
  DirentBuffer,
  encodeAttrOut,
  encodeEntryOut,
  encodeGetxattrOut,
  encodeOpenOut,
  encodeStatfsOut,
  encodeWriteOut,
  type EntryOut,
  type InitIn,
  type InitOut,
  timeoutFromMs,
} from "../fuse/codec.ts";
import { FuseErrnoError, FuseInitError } from "../fuse/errors.ts";
import type { FuseRequest, FuseServer, Reply, ServerContext } from "../fuse/server.ts";
import { OpenFlag } from "../fuse/abi.ts";
import { resolveRange } from "./alloc.ts";
import { viewOf } from "./device.ts";
import { checkFmapForProfile, encodeDaxdevOut, encodeFmap, FamfsFileType, fmapReplyLimit } from "./fmap.ts";
import { decodeLogHeader, LOG_HEADER_SIZE, replayLog } from "./log.ts";
import { type Profile, profileByName, type ProfileName } from "./profiles.ts";
import type { FileFmap } from "./scenario.ts";
import { type FamfsFacts, ScenarioLayer, type ScenarioLayerConfig } from "./scenario_layer.ts";
import { LOG_INO, type Node, ROOT_INO, SB_INO, Tree } from "./tree.ts";

/** The server's settings; `scenario`, `requestLog` and `presets` go to the scenario layer around it. */
export interface FamfsServerConfig extends ScenarioLayerConfig {
  device: string;
  compat: boolean;
  profile: ProfileName;
  entryTimeoutMs: number;
  attrTimeoutMs: number;
}

/** Shared memory layout (bytes): 0..64 BigInt64 slots, 64.. opcode counters, then attr overrides. */
export const Shared = {
  DEV_PTR: 0,
  DEV_SIZE: 1,
  LOG_OFFSET: 2,
  LOG_LEN: 3,
  /** Pointer to the superblock bytes (famfs mode: the .meta/.superblock mapping). */
  SB_PTR: 4,
  /** Pointer to the log bytes. */
  LOG_PTR: 5,
  /** 1 when this host is a client of the filesystem (its system uuid is not the superblock's). */
  CLIENT: 6,
  COUNTERS_AT: 64,
  COUNTERS: 256,
  OVERRIDES_AT: 64 + 256 * 4,
  OVERRIDE_SLOTS: 65536,
  bytes(): number {
    return this.OVERRIDES_AT + this.OVERRIDE_SLOTS * 3 * 4;
  },
} as const;

const DIRECT_IO_META = OpenFlag.DIRECT_IO;
/** Access mode bits of fuse_open_in.flags (Linux O_ACCMODE; 0 is O_RDONLY). */
const O_ACCMODE = 3;

class FamfsServer implements FuseServer, FamfsFacts {
  readonly profile: Profile;
  readonly compat: boolean;
  private readonly slots: BigInt64Array;
  private readonly overrides: Int32Array;
  private tree = new Tree();
  private dev:
    | { bytes: Uint8Array<ArrayBuffer>; ptr: Deno.PointerObject }
    | undefined;
  private log: Uint8Array | undefined;
  private logOffset = 0;
  private devSize = 0;
  private readonly entryT;
  private readonly attrT;

  constructor(readonly cfg: FamfsServerConfig, readonly ctx: ServerContext) {
    this.profile = profileByName(cfg.profile)!;
    this.compat = cfg.compat;
    this.slots = new BigInt64Array(ctx.shared, 0, 8);
    this.overrides = new Int32Array(
      ctx.shared,
      Shared.OVERRIDES_AT,
      Shared.OVERRIDE_SLOTS * 3,
    );
    this.entryT = timeoutFromMs(cfg.entryTimeoutMs);
    this.attrT = timeoutFromMs(cfg.attrTimeoutMs);
    this.refresh();
  }

  /** Picks up the shared mappings and replays log entries not seen yet. */
  private refresh(): void {
    if (!this.log) {
      const logLen = Number(Atomics.load(this.slots, Shared.LOG_LEN));
      if (logLen === 0) return;
      this.logOffset = Number(Atomics.load(this.slots, Shared.LOG_OFFSET));
      this.devSize = Number(Atomics.load(this.slots, Shared.DEV_SIZE));
      this.tree.setLog(this.logOffset, logLen);
      const devPtr = Atomics.load(this.slots, Shared.DEV_PTR);
      if (devPtr !== 0n && !this.dev) this.dev = viewOf(devPtr, this.devSize);
      const logPtr = Atomics.load(this.slots, Shared.LOG_PTR);
      if (logPtr === 0n) return;
      this.log = viewOf(logPtr, logLen).bytes;
    }
    const h = decodeLogHeader(this.log.subarray(0, LOG_HEADER_SIZE));
    if (h.nextIndex <= this.tree.replayed) return;
    let r;
    try {
      r = replayLog(
        this.log,
        this.logOffset,
        this.log.byteLength,
        this.devSize,
        this.tree.replayed,
      );
    } catch (e) {
      if (this.ctx.workerIndex === 0) {
        console.error(`famfs: log not replayed: ${(e as Error).message}`);
      }
      return;
    }
    for (const { index, entry } of r.entries) {
      const err = this.tree.apply(index, entry);
      if (err && this.ctx.workerIndex === 0) console.error(`famfs: ${err}`);
    }
    if (this.ctx.workerIndex === 0) {
      for (const e of r.errors) {
        console.error(`famfs: skipped corrupt entry: ${e.message}`);
      }
    }
    this.tree.replayed = r.header.nextIndex;
  }

  init(offer: InitIn): InitOut {
    const out = defaultInitOut(Math.min(offer.minor, this.profile.maxMinor));
    out.maxReadahead = offer.maxReadahead;
    const wanted = InitFlag.ASYNC_READ | InitFlag.BIG_WRITES |
      InitFlag.MAX_PAGES | InitFlag.PARALLEL_DIROPS |
      InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO | InitFlag.INIT_EXT |
      InitFlag.EXPORT_SUPPORT;
    out.flags = offer.flags & wanted;
    if (!this.cfg.compat) {
      if ((offer.flags & this.profile.initFlag) === 0n) {
        throw new FuseInitError(
          `kernel (FUSE ${offer.major}.${offer.minor}) does not offer FUSE_DAX_FMAP (INIT bit ${this.profile.initFlagBit}) ` +
            `of profile ${this.profile.name}; use a kernel with that series, another --profile, or --compat`,
        );
      }
      out.flags |= this.profile.initFlag | InitFlag.INIT_EXT;
    }
    return out;
  }

  forget(): void {}

  /** Path of a node relative to the mount ("" for the root, undefined when unknown). */
  pathOf(ino: bigint): string | undefined {
    const parts: string[] = [];
    for (let n = this.tree.get(ino); n && n.ino !== ROOT_INO; n = this.tree.get(n.parent)) {
      parts.unshift(n.name);
      if (parts.length > 64) return undefined;
    }
    return this.tree.get(ino) ? parts.join("/") : undefined;
  }

  private node(ino: bigint): Node {
    let n = this.tree.get(ino);
    if (!n) {
      // Another worker may have replayed newer log entries already.
      this.refresh();
      n = this.tree.get(ino);
    }
    if (!n) throw new FuseErrnoError(Errno.ENOENT, `no node ${ino}`);
    return n;
  }

  private attr(n: Node): Attr {
    const slot = Tree.slotOf(n.ino);
    let mode = n.mode, uid = n.uid, gid = n.gid;
    if (slot >= 0 && slot < Shared.OVERRIDE_SLOTS) {
      const m = Atomics.load(this.overrides, slot * 3);
      const u = Atomics.load(this.overrides, slot * 3 + 1);
      const g = Atomics.load(this.overrides, slot * 3 + 2);
      if (m) mode = (n.mode & S_IFMT) | (m & 0o7777);
      if (u) uid = u - 1;
      if (g) gid = g - 1;
    }
    if (this.readOnlyFile(n)) mode &= ~0o222;
    return {
      ino: n.ino,
      size: BigInt(n.size),
      blocks: BigInt(Math.ceil(n.size / 512)),
      atime: 0n,
      mtime: 0n,
      ctime: 0n,
      atimensec: 0,
      mtimensec: 0,
      ctimensec: 0,
      mode,
      nlink: n.children ? 2 : 1,
      uid,
      gid,
      rdev: 0,
      blksize: 4096,
      flags: 0,
    };
  }

  private entry(n: Node): EntryOut {
    return {
      nodeid: n.ino,
      generation: 0n,
      entryValid: this.entryT,
      attrValid: this.attrT,
      attr: this.attr(n),
    };
  }

  /** A client replays the master's log: its files are read-only (the daemon's own .meta files excepted). */
  private readOnlyFile(n: Node): boolean {
    return (n.mode & S_IFMT) === S_IFREG && !n.meta && Atomics.load(this.slots, Shared.CLIENT) === 1n;
  }

  /** The request handlers, by opcode; the scenario layer wraps this. */
  handle(req: FuseRequest): Reply {
    const { opcode, nodeid } = req.header;
    const p = this.profile;
    if (!this.cfg.compat && opcode === p.getFmapOpcode) {
      return this.getFmap(req);
    }
    if (!this.cfg.compat && opcode === p.getDaxdevOpcode) {
      return this.getDaxdev(req);
    }
    switch (opcode) {
      case Opcode.LOOKUP: {
        const end = req.body.indexOf(0);
        let n = end < 0 ? undefined : this.tree.lookupBytes(nodeid, req.body, end);
        if (n) return { kind: "ok", payload: encodeEntryOut(this.entry(n), req.payload(Size.ENTRY_OUT)) };
        const name = decodeName(req.body);
        n = this.tree.lookup(nodeid, name);
        if (!n) {
          this.refresh();
          n = this.tree.lookup(nodeid, name);
        }
        if (!n) return { kind: "error", errno: Errno.ENOENT };
        return { kind: "ok", payload: encodeEntryOut(this.entry(n), req.payload(Size.ENTRY_OUT)) };
      }
      case Opcode.GETATTR:
        return {
          kind: "ok",
          payload: encodeAttrOut(this.attrT, this.attr(this.node(nodeid)), req.payload(Size.ATTR_OUT)),
        };
      case Opcode.SETATTR:
        return this.setattr(req);
      case Opcode.OPEN: {
        const n = this.node(nodeid);
        if (n.children) return { kind: "error", errno: Errno.EISDIR };
        if (this.readOnlyFile(n) && (decodeOpenIn(req.body).flags & O_ACCMODE) !== 0) {
          return { kind: "error", errno: Errno.EROFS };
        }
        // No FLUSH on close: file data never passes through the daemon, and a dying daemon closing its own
        // .meta files would wait forever for a FLUSH (always waited for) on its own connection.
        const flags = (n.meta ? DIRECT_IO_META : 0) | OpenFlag.NOFLUSH;
        return { kind: "ok", payload: encodeOpenOut(0n, flags, req.payload(Size.OPEN_OUT)) };
      }
      case Opcode.OPENDIR: {
        if (!this.node(nodeid).children) {
          return { kind: "error", errno: Errno.ENOTDIR };
        }
        this.refresh();
        return { kind: "ok", payload: encodeOpenOut(0n, 0, req.payload(Size.OPEN_OUT)) };
      }
      case Opcode.READ:
        return this.read(req);
      case Opcode.WRITE:
        return this.write(req);
      case Opcode.READDIR:
      case Opcode.READDIRPLUS:
        return this.readdir(req, opcode === Opcode.READDIRPLUS);
      case Opcode.RELEASE:
      case Opcode.RELEASEDIR:
      case Opcode.FLUSH:
      case Opcode.FSYNC:
      case Opcode.FSYNCDIR:
        return { kind: "ok" };
      case Opcode.STATFS:
        return this.statfs();
      case Opcode.ACCESS: {
        const mask = decodeAccessIn(req.body);
        const a = this.attr(this.node(nodeid));
        if (req.header.uid === 0 || mask === 0) return { kind: "ok" };
        const shift = req.header.uid === a.uid ? 6 : req.header.gid === a.gid ? 3 : 0;
        return ((a.mode >> shift) & mask) === mask ? { kind: "ok" } : { kind: "error", errno: Errno.EACCES };
      }
      // No xattrs. ENOSYS (not ENODATA) makes the kernel stop asking: otherwise every write() to a file costs a
      // GETXATTR round trip (the security.capability check of file_remove_privs()).
      case Opcode.GETXATTR:
        return { kind: "error", errno: Errno.ENOSYS };
      case Opcode.LISTXATTR: {
        const size = decodeGetxattrIn(req.body);
        return size === 0 ? { kind: "ok", payload: encodeGetxattrOut(0) } : { kind: "ok", payload: new Uint8Array() };
      }
      default:
        return { kind: "error", errno: Errno.ENOSYS };
    }
  }

  private setattr(req: FuseRequest): Reply {
    const n = this.node(req.header.nodeid);
    const s = decodeSetattrIn(req.body);
    if (s.valid & SetattrValid.SIZE && Number(s.size) !== n.size) {
      return { kind: "error", errno: Errno.EPERM }; // famfs files have a fixed size
    }
    const slot = Tree.slotOf(n.ino);
    if (slot < 0 || slot >= Shared.OVERRIDE_SLOTS) {
      return { kind: "error", errno: Errno.EPERM };
    }
    if (s.valid & SetattrValid.MODE) {
      Atomics.store(this.overrides, slot * 3, (s.mode & 0o7777) | 0x10000);
    }
    if (s.valid & SetattrValid.UID) {
      Atomics.store(this.overrides, slot * 3 + 1, s.uid + 1);
    }
    if (s.valid & SetattrValid.GID) {
      Atomics.store(this.overrides, slot * 3 + 2, s.gid + 1);
    }
    return { kind: "ok", payload: encodeAttrOut(this.attrT, this.attr(n), req.payload(Size.ATTR_OUT)) };
  }

  private readdir(req: FuseRequest, plus: boolean): Reply {
    const n = this.node(req.header.nodeid);
    if (!n.children) return { kind: "error", errno: Errno.ENOTDIR };
    const r = decodeReadIn(req.body);
    const list: Array<[string, Node]> = [[".", n], ["..", this.node(n.parent)]];
    for (const [name, ino] of n.children) list.push([name, this.node(ino)]);
    const d = new DirentBuffer(r.size, plus);
    for (let i = r.offset; i < list.length; i++) {
      const [name, c] = list[i];
      const dot = name === "." || name === "..";
      const e = plus && !dot ? this.entry(c) : plus ? { ...this.entry(c), nodeid: 0n } : undefined;
      if (!d.add(name, c.ino, BigInt(i + 1), Tree.dtype(c), e)) break;
    }
    return { kind: "ok", payload: d.bytes() };
  }

  private statfs(): Reply {
    let used = 0;
    for (const n of this.tree.nodes.values()) {
      if (n.fmap && !n.meta) used += Math.ceil(n.size / 0x200000) * 0x200000;
    }
    const total = this.devSize || 0;
    const free = Math.max(
      0,
      total - used - this.logOffset - (this.log?.byteLength ?? 0),
    );
    return {
      kind: "ok",
      payload: encodeStatfsOut({
        blocks: BigInt(Math.floor(total / 4096)),
        bfree: BigInt(Math.floor(free / 4096)),
        bavail: BigInt(Math.floor(free / 4096)),
        files: BigInt(this.tree.nodes.size),
        ffree: 0n,
        bsize: 4096,
        namelen: 79,
        frsize: 4096,
      }),
    };
  }

  /** Fmap of a node: regular files from the log, .meta files from the superblock. */
  private fmapOf(
    n: Node,
  ): {
    type: typeof FamfsFileType[keyof typeof FamfsFileType];
    size: number;
    fmap: Node["fmap"];
  } {
    if (n.ino === SB_INO) {
      return {
        type: FamfsFileType.SUPERBLOCK,
        size: n.size,
        fmap: {
          type: "simple",
          extents: [{ devindex: 0, offset: 0, len: 0x200000 }],
        },
      };
    }
    if (n.ino === LOG_INO) {
      return { type: FamfsFileType.LOG, size: n.size, fmap: n.fmap };
    }
    return { type: FamfsFileType.REG, size: n.size, fmap: n.fmap };
  }

  private read(req: FuseRequest): Reply {
    const n = this.node(req.header.nodeid);
    const r = decodeReadIn(req.body);
    const { fmap, size } = this.fmapOf(n);
    if (!fmap) return { kind: "error", errno: Errno.EISDIR };
    if (!this.dev) return { kind: "error", errno: Errno.EIO }; // famfs mode: data goes through DAX
    const len = Math.max(0, Math.min(r.size, size - r.offset));
    if (len === 0) return { kind: "ok" };
    const pieces = resolveRange(fmap, r.offset, len).map((x) => ({
      ptr: Deno.UnsafePointer.offset(this.dev!.ptr, x.devOffset),
      len: x.len,
    }));
    return { kind: "pieces", pieces };
  }

  private write(req: FuseRequest): Reply {
    const n = this.node(req.header.nodeid);
    const w = decodeWriteIn(req.body);
    const { fmap, size } = this.fmapOf(n);
    if (!fmap) return { kind: "error", errno: Errno.EISDIR };
    if (!this.dev) return { kind: "error", errno: Errno.EIO };
    if (w.offset >= size) return { kind: "error", errno: Errno.EFBIG };
    const len = Math.min(w.size, size - w.offset);
    let p = 0;
    for (const x of resolveRange(fmap, w.offset, len)) {
      this.dev.bytes.set(w.data.subarray(p, p + x.len), x.devOffset);
      p += x.len;
    }
    if (n.ino === LOG_INO) this.refresh();
    return { kind: "ok", payload: encodeWriteOut(len, req.payload(Size.WRITE_OUT)) };
  }

  /** The map GET_FMAP sends for a node; undefined for a node that is no regular file. */
  fileFmap(ino: bigint): FileFmap | undefined {
    const n = this.node(ino);
    const { type, size, fmap } = this.fmapOf(n);
    if (!fmap || (n.mode & S_IFMT) !== S_IFREG) return undefined;
    return { type, size, fmap };
  }

  private getFmap(req: FuseRequest): Reply {
    const file = this.fileFmap(req.header.nodeid);
    if (!file) return { kind: "error", errno: Errno.EINVAL };
    checkFmapForProfile(file.fmap, this.profile);
    const payload = encodeFmap(file.type, file.size, file.fmap);
    if (payload.byteLength > fmapReplyLimit(this.profile, req.body)) {
      return { kind: "error", errno: Errno.ERANGE };
    }
    return { kind: "ok", payload };
  }

  /** Only devindex 0 (the mounted device) exists; the index travels in nodeid. */
  private getDaxdev(req: FuseRequest): Reply {
    const index = Number(req.header.nodeid);
    if (index !== 0) return { kind: "error", errno: Errno.ENODEV };
    return { kind: "ok", payload: encodeDaxdevOut({ index, name: this.cfg.daxdevName }) };
  }
}

/** The famfs server, wrapped in the scenario layer when a scenario or a request log is asked for. */
export function createServer(config: unknown, ctx: ServerContext): FuseServer {
  const cfg = config as FamfsServerConfig;
  const fs = new FamfsServer(cfg, ctx);
  if (!cfg.scenario && !cfg.requestLog) return fs;
  const counters = new Int32Array(ctx.shared, Shared.COUNTERS_AT, Shared.COUNTERS);
  return new ScenarioLayer(fs, fs, cfg, counters, ctx);
}

export { ROOT_INO };
