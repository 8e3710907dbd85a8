/**
 * The request loop run by each worker: a blocking read on its own /dev/fuse
 * fd into one buffer, synchronous dispatch to the server, one write per reply
 * (from the worker's ReplyWriter).
 */
import { Errno, FUSE_KERNEL_VERSION, Opcode, Size } from "./abi.ts";
import {
  decodeBatchForgetIn,
  decodeForgetIn,
  decodeInHeader,
  decodeInitIn,
  decodeInterruptIn,
  encodeInitOut,
  IN_HEADER,
  type InHeader,
  type InitOut,
} from "./codec.ts";
import { FuseDecodeError, FuseErrnoError, FuseInitError, LibcError } from "./errors.ts";
import * as libc from "./libc.ts";
import { ReadGate } from "./read_gate.ts";
import { ReplyWriter } from "./reply_writer.ts";
import type { FuseRequest, FuseServer, Reply, ReplyOutcome } from "./server.ts";

/**
 * Interrupt bookkeeping shared by all workers: worker i's slot holds the
 * unique it is serving (0 when idle) and a flag set by FUSE_INTERRUPT. Each
 * slot has a cache line of its own: every request writes its slot twice, and
 * slots sharing a line made each write a cache miss on the other worker's core.
 */
export class InterruptTable {
  private readonly uniques: BigInt64Array;
  private readonly flags: Int32Array;
  constructor(readonly sab: SharedArrayBuffer, readonly workers: number) {
    this.uniques = new BigInt64Array(sab, 0, workers * SLOT_BIGINTS);
    this.flags = new Int32Array(sab, 0, workers * SLOT_INT32S);
  }
  static bytes(workers: number): number {
    return workers * SLOT_BYTES;
  }
  begin(worker: number, unique: bigint): void {
    Atomics.store(this.flags, worker * SLOT_INT32S + FLAG_INT32, 0);
    Atomics.store(this.uniques, worker * SLOT_BIGINTS, unique);
  }
  end(worker: number): void {
    Atomics.store(this.uniques, worker * SLOT_BIGINTS, 0n);
  }
  /** Marks the worker serving `unique`; false when no worker serves it. */
  interrupt(unique: bigint): boolean {
    for (let i = 0; i < this.workers; i++) {
      if (Atomics.load(this.uniques, i * SLOT_BIGINTS) === unique) {
        const flag = i * SLOT_INT32S + FLAG_INT32;
        Atomics.store(this.flags, flag, 1);
        Atomics.notify(this.flags, flag);
        return true;
      }
    }
    return false;
  }
  isInterrupted(worker: number): boolean {
    return Atomics.load(this.flags, worker * SLOT_INT32S + FLAG_INT32) !== 0;
  }
}

/** A slot: the unique (8 bytes), the flag (4 bytes), padding to a 64-byte cache line. */
const SLOT_BYTES = 64;
const SLOT_BIGINTS = SLOT_BYTES / 8;
const SLOT_INT32S = SLOT_BYTES / 4;
const FLAG_INT32 = 2;

export type LoopEvent =
  | { type: "init"; out: InitOut }
  | { type: "init-refused"; message: string };

export class RequestLoop {
  private initOut: InitOut | undefined;
  private readonly writer: ReplyWriter;
  // Made once: a request needs no closures of its own.
  private readonly interrupted: () => boolean;
  private readonly payload: (size: number) => Uint8Array;
  private readonly send: (r: { unique: bigint; reply: Reply }) => ReplyOutcome;

  constructor(
    readonly fd: number,
    readonly worker: number,
    readonly server: FuseServer,
    readonly interrupts: InterruptTable,
    readonly emit: (e: LoopEvent) => void,
    readonly bufferSize: number,
    /** Shared by a connection's workers; without it every worker waits in read() (tests drive dispatch() alone). */
    readonly gate?: ReadGate,
  ) {
    const writer = new ReplyWriter(fd);
    this.writer = writer;
    this.interrupted = () => interrupts.isInterrupted(worker);
    this.payload = (size) => writer.payload(size);
    this.send = (r) => writer.send(r.unique, r.reply);
  }

  /** Serves until the connection ends (unmount or abort). */
  run(): void {
    try {
      this.serve();
    } finally {
      this.gate?.close();
    }
  }

  private serve(): void {
    const buf = new Uint8Array(Math.max(libc.FUSE_MIN_BUFFER, this.bufferSize));
    const view = new DataView(buf.buffer);
    const gate = this.gate;
    let lastData = false; // after a data copy, read at once: data requests overlap (see ReadGate)
    for (;;) {
      gate?.enter(!lastData);
      const n = libc.readSync(this.fd, buf);
      lastData = n >= Size.IN_HEADER && isDataCopy(view.getUint32(IN_HEADER.offsetOf("opcode"), true));
      gate?.leave(lastData);
      if (n <= 0) {
        const rev = libc.pollOne(this.fd, libc.POLLIN, 0);
        if (
          n === 0 || (rev & (libc.POLLERR | libc.POLLHUP | libc.POLLNVAL)) !== 0
        ) return;
        continue; // EINTR, ENOENT (request vanished), EAGAIN: read again
      }
      try {
        const msg = buf.subarray(0, n);
        this.dispatch(msg, this.send);
      } catch (e) {
        console.error(
          `fuse: worker ${this.worker}: ${(e as Error).stack ?? e}`,
        );
      }
    }
  }

  /** Decodes one message, asks the server, sends the reply via `send`. */
  dispatch(
    msg: Uint8Array,
    send: (r: { unique: bigint; reply: Reply }) => ReplyOutcome,
  ): void {
    const header = decodeInHeader(msg);
    const body = msg.subarray(
      Size.IN_HEADER,
      Math.min(header.len, msg.byteLength),
    );
    const worker = this.worker;
    const req: FuseRequest = { header, body, worker, interrupted: this.interrupted, payload: this.payload };
    let reply: Reply;
    switch (header.opcode) {
      case Opcode.INIT:
        reply = this.handleInit(body);
        break;
      case Opcode.FORGET:
        this.server.forget?.(header.nodeid, decodeForgetIn(body));
        reply = { kind: "none" };
        break;
      case Opcode.BATCH_FORGET:
        for (const f of decodeBatchForgetIn(body)) {
          this.server.forget?.(f.nodeid, f.nlookup);
        }
        reply = { kind: "none" };
        break;
      case Opcode.INTERRUPT:
        reply = this.interrupts.interrupt(decodeInterruptIn(body))
          ? { kind: "none" }
          : { kind: "error", errno: Errno.EAGAIN };
        break;
      case Opcode.DESTROY:
        this.server.destroy?.();
        reply = { kind: "ok" };
        break;
      default:
        this.interrupts.begin(worker, header.unique);
        try {
          reply = this.server.handle(req);
        } catch (e) {
          reply = errorReply(e, header);
        } finally {
          this.interrupts.end(worker);
        }
    }
    const outcome = send({ unique: header.unique, reply });
    this.server.observe?.(req, reply, outcome);
    if (header.opcode === Opcode.INIT) {
      if (this.initOut && outcome.errno === 0) {
        this.emit({ type: "init", out: this.initOut });
      }
    }
  }

  private handleInit(body: Uint8Array): Reply {
    const offer = decodeInitIn(body);
    try {
      if (offer.major !== FUSE_KERNEL_VERSION) {
        throw new FuseInitError(
          `kernel FUSE major ${offer.major} is not ${FUSE_KERNEL_VERSION}`,
        );
      }
      this.initOut = this.server.init(offer);
      return { kind: "ok", payload: encodeInitOut(this.initOut) };
    } catch (e) {
      this.emit({ type: "init-refused", message: (e as Error).message });
      return { kind: "error", errno: 71 /* EPROTO */ };
    }
  }
}

/** Requests whose reply copies file data: worth a second worker reading meanwhile. */
function isDataCopy(opcode: number): boolean {
  return opcode === Opcode.READ || opcode === Opcode.WRITE;
}

function errorReply(e: unknown, h: InHeader): Reply {
  if (e instanceof FuseErrnoError) return { kind: "error", errno: e.errno };
  if (e instanceof FuseDecodeError) {
    return { kind: "error", errno: Errno.EINVAL };
  }
  if (e instanceof LibcError) {
    return { kind: "error", errno: e.errno || Errno.EIO };
  }
  console.error(
    `fuse: opcode ${h.opcode} unique ${h.unique}: ${(e as Error).stack ?? e}`,
  );
  return { kind: "error", errno: Errno.EIO };
}
