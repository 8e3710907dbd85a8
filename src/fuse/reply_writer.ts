/**
 * Sends replies on one /dev/fuse fd from buffers made once per worker: a
 * reply message buffer (header + payload) and an iovec array for writev.
 * A fresh ArrayBuffer per reply (and a fresh buffer handed to FFI) costs
 * about as much as the rest of a small request, so the hot path allocates none.
 */
import { Size } from "./abi.ts";
import { encodeReply, OUT_HEADER } from "./codec.ts";
import * as libc from "./libc.ts";
import type { Reply, ReplyOutcome } from "./server.ts";

/** Largest payload built in place; larger ones are sent from a message of their own. */
export const REPLY_PAYLOAD_CAPACITY = 64 * 1024;
/** Pieces of a "pieces" reply written with the reused iovec array; more take a fresh one. */
const IOV_CAPACITY = 64;

export class ReplyWriter {
  private readonly msg = new Uint8Array(Size.OUT_HEADER + REPLY_PAYLOAD_CAPACITY);
  private readonly view = new DataView(this.msg.buffer);
  private readonly iov = new BigUint64Array(IOV_CAPACITY * 2);
  private readonly iovBytes = new Uint8Array(this.iov.buffer);
  private readonly msgAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.msg)));

  constructor(readonly fd: number) {}

  /**
   * Zeroed bytes for a reply payload, placed right after the reply header:
   * valid until the next reply is sent, which then needs no copy.
   */
  payload(size: number): Uint8Array {
    if (size > REPLY_PAYLOAD_CAPACITY) return new Uint8Array(size);
    const start = Size.OUT_HEADER;
    this.msg.fill(0, start, start + size);
    return this.msg.subarray(start, start + size);
  }

  send(unique: bigint, reply: Reply): ReplyOutcome {
    switch (reply.kind) {
      case "none":
        return { written: 0, errno: 0, length: 0, error: 0 };
      case "ok":
        return this.sendMessage(unique, 0, reply.payload);
      case "error":
        return this.sendMessage(unique, -Math.abs(reply.errno) | 0, undefined);
      case "raw": {
        const bytes = reply.bytes;
        const r = libc.write(this.fd, new Uint8Array(bytes));
        // A raw (fault-injection) reply may be too short to carry an error field.
        const error = bytes.byteLength >= OUT_HEADER.size ? OUT_HEADER.decode(bytes).error : 0;
        return { written: r.n, errno: r.errno, length: bytes.byteLength, error };
      }
      case "pieces":
        return this.sendPieces(unique, reply.pieces);
    }
  }

  private header(len: number, error: number, unique: bigint): void {
    this.view.setUint32(0, len, true);
    this.view.setInt32(4, error, true);
    this.view.setBigUint64(8, unique, true);
  }

  private sendMessage(unique: bigint, error: number, payload: Uint8Array | undefined): ReplyOutcome {
    const size = payload?.byteLength ?? 0;
    const length = Size.OUT_HEADER + size;
    if (size > REPLY_PAYLOAD_CAPACITY) {
      const r = libc.write(this.fd, encodeReply(unique, error, payload));
      return { written: r.n, errno: r.errno, length, error };
    }
    const inPlace = payload !== undefined && payload.buffer === this.msg.buffer &&
      payload.byteOffset === Size.OUT_HEADER;
    if (payload && !inPlace) this.msg.set(payload, Size.OUT_HEADER);
    this.header(length, error, unique);
    const r = libc.write(this.fd, this.msg, length);
    return { written: r.n, errno: r.errno, length, error };
  }

  /** Header from the message buffer, payload straight from the given memory (no copy). */
  private sendPieces(unique: bigint, pieces: Array<{ ptr: Deno.PointerValue; len: number }>): ReplyOutcome {
    let total = 0;
    for (const p of pieces) total += p.len;
    const length = Size.OUT_HEADER + total;
    if (pieces.length + 1 > IOV_CAPACITY) {
      const head = OUT_HEADER.encode({ len: length, error: 0, unique });
      const r = libc.writev(this.fd, [{ ptr: Deno.UnsafePointer.of(head), len: head.byteLength }, ...pieces]);
      return { written: r.n, errno: r.errno, length, error: 0 };
    }
    this.header(length, 0, unique);
    const iov = this.iov;
    iov[0] = this.msgAddress;
    iov[1] = BigInt(Size.OUT_HEADER);
    for (let i = 0; i < pieces.length; i++) {
      iov[2 + i * 2] = BigInt(Deno.UnsafePointer.value(pieces[i].ptr));
      iov[3 + i * 2] = BigInt(pieces[i].len);
    }
    const r = libc.writevRaw(this.fd, this.iovBytes, pieces.length + 1);
    return { written: r.n, errno: r.errno, length, error: 0 };
  }
}
