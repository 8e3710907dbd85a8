/** A one-file server used to exercise the generic session without famfs. */
import { DT_DIR, DT_REG, Errno, InitFlag, Opcode, S_IFDIR, S_IFREG } from "../abi.ts";
import {
  type Attr,
  decodeName,
  decodeReadIn,
  defaultInitOut,
  DirentBuffer,
  encodeAttrOut,
  encodeEntryOut,
  encodeOpenOut,
  type InitIn,
  timeoutFromMs,
} from "../codec.ts";
import type { FuseRequest, FuseServer, Reply, ServerContext } from "../server.ts";

export const HELLO = new TextEncoder().encode(
  "hello from the generic fuse core\n",
);

function attrOf(ino: bigint): Attr {
  const dir = ino === 1n;
  return {
    ino,
    size: dir ? 0n : BigInt(HELLO.byteLength),
    blocks: 1n,
    atime: 0n,
    mtime: 0n,
    ctime: 0n,
    atimensec: 0,
    mtimensec: 0,
    ctimensec: 0,
    mode: dir ? S_IFDIR | 0o755 : S_IFREG | 0o444,
    nlink: dir ? 2 : 1,
    uid: 0,
    gid: 0,
    rdev: 0,
    blksize: 4096,
    flags: 0,
  };
}

class HelloServer implements FuseServer {
  constructor(readonly ctx: ServerContext) {}
  init(offer: InitIn) {
    const out = defaultInitOut(Math.min(offer.minor, 46));
    out.flags = offer.flags &
      (InitFlag.ASYNC_READ | InitFlag.MAX_PAGES | InitFlag.PARALLEL_DIROPS);
    return out;
  }
  handle(req: FuseRequest): Reply {
    const { opcode, nodeid } = req.header;
    this.ctx.post({ opcode });
    const t = timeoutFromMs(1000);
    switch (opcode) {
      case Opcode.LOOKUP:
        if (nodeid === 1n && decodeName(req.body) === "hello") {
          return {
            kind: "ok",
            payload: encodeEntryOut({
              nodeid: 2n,
              generation: 0n,
              entryValid: t,
              attrValid: t,
              attr: attrOf(2n),
            }),
          };
        }
        return { kind: "error", errno: Errno.ENOENT };
      case Opcode.GETATTR:
        return { kind: "ok", payload: encodeAttrOut(t, attrOf(nodeid)) };
      case Opcode.OPEN:
      case Opcode.OPENDIR:
        return { kind: "ok", payload: encodeOpenOut(7n, 0) };
      case Opcode.RELEASE:
      case Opcode.RELEASEDIR:
      case Opcode.FLUSH:
        return { kind: "ok" };
      case Opcode.READ: {
        const r = decodeReadIn(req.body);
        return {
          kind: "ok",
          payload: HELLO.subarray(r.offset, r.offset + r.size),
        };
      }
      case Opcode.READDIR: {
        const r = decodeReadIn(req.body);
        const d = new DirentBuffer(r.size, false);
        const all: Array<[string, bigint, number]> = [[".", 1n, DT_DIR], [
          "..",
          1n,
          DT_DIR,
        ], ["hello", 2n, DT_REG]];
        for (let i = r.offset; i < all.length; i++) {
          if (!d.add(all[i][0], all[i][1], BigInt(i + 1), all[i][2])) break;
        }
        return { kind: "ok", payload: d.bytes() };
      }
      default:
        return { kind: "error", errno: Errno.ENOSYS };
    }
  }
}

export function createServer(_config: unknown, ctx: ServerContext): FuseServer {
  return new HelloServer(ctx);
}
