/**
 * The contract between the generic request loop and a file system server.
 * Servers run inside worker threads (one per cloned /dev/fuse fd) and answer
 * synchronously; the main thread stays free (it may even use the mount).
 */
import type { InHeader, InitIn, InitOut } from "./codec.ts";

/** A reply the server wants sent. */
export type Reply =
  | { kind: "ok"; payload?: Uint8Array }
  | { kind: "error"; errno: number }
  /** Header is built by the loop; payload pieces are written with writev (zero copy). */
  | { kind: "pieces"; pieces: Array<{ ptr: Deno.PointerValue; len: number }> }
  /** Written verbatim (fault injection: forged headers, garbage). */
  | { kind: "raw"; bytes: Uint8Array }
  | { kind: "none" };

export interface FuseRequest {
  header: InHeader;
  /** Request body after fuse_in_header; valid only during handle(). */
  body: Uint8Array;
  /** True once the kernel sent FUSE_INTERRUPT for this request. */
  interrupted(): boolean;
  worker: number;
  /**
   * Zeroed bytes for this request's "ok" payload, owned by the loop: valid until the reply is sent,
   * which then writes it without a copy. Any other Uint8Array works as a payload too.
   */
  payload(size: number): Uint8Array;
}

export interface ReplyOutcome {
  /** Bytes written, or -1. */
  written: number;
  /** errno of the write(2) to /dev/fuse, 0 on success. */
  errno: number;
  /** Length of the whole reply message (header included), 0 for none. */
  length: number;
  /** error field sent (0 or negative errno). */
  error: number;
}

export interface FuseServer {
  /** Negotiates INIT. Throw FuseInitError to refuse the kernel's offer. */
  init(offer: InitIn): InitOut;
  handle(req: FuseRequest): Reply;
  forget?(nodeid: bigint, nlookup: bigint): void;
  destroy?(): void;
  /** Called after every request (replied or not): logging and fault injection. */
  observe?(req: FuseRequest, reply: Reply, outcome: ReplyOutcome): void;
}

/** What a server gets from the loop it runs in. */
export interface ServerContext {
  workerIndex: number;
  workers: number;
  /** Shared memory the main thread handed to every worker (server-defined use). */
  shared: SharedArrayBuffer;
  /** Sends a message to the main thread's `onServerMessage`. */
  post(message: unknown): void;
}

/** A server module exports `createServer` with this signature. */
export type ServerFactory = (config: unknown, ctx: ServerContext) => FuseServer;
