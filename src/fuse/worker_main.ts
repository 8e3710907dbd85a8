/**
 * Entry of a request-loop worker thread. The main thread sends one
 * WorkerStart message; the worker loads the server module and serves until
 * the connection ends.
 */
import { InterruptTable, type LoopEvent, RequestLoop } from "./loop.ts";
import { ReadGate } from "./read_gate.ts";
import type { ServerFactory } from "./server.ts";

export interface WorkerStart {
  fd: number;
  index: number;
  workers: number;
  serverModule: string;
  serverConfig: unknown;
  shared: SharedArrayBuffer;
  interrupts: SharedArrayBuffer;
  /** ReadGate.bytes() shared by the connection's workers. */
  gate: SharedArrayBuffer;
  bufferSize: number;
}

export type WorkerEvent = LoopEvent | { type: "exit"; index: number } | {
  type: "server";
  message: unknown;
} | {
  type: "error";
  message: string;
};

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerStart>) => void) | null;
  postMessage(m: WorkerEvent): void;
  close(): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (e: MessageEvent<WorkerStart>) => {
  const s = e.data;
  try {
    const mod = await import(s.serverModule) as { createServer: ServerFactory };
    const server = mod.createServer(s.serverConfig, {
      workerIndex: s.index,
      workers: s.workers,
      shared: s.shared,
      post: (message) => scope.postMessage({ type: "server", message }),
    });
    const loop = new RequestLoop(
      s.fd,
      s.index,
      server,
      new InterruptTable(s.interrupts, s.workers),
      (ev) => scope.postMessage(ev),
      s.bufferSize,
      new ReadGate(s.gate),
    );
    loop.run();
  } catch (err) {
    scope.postMessage({
      type: "error",
      message: (err as Error).stack ?? String(err),
    });
  }
  scope.postMessage({ type: "exit", index: s.index });
  scope.close();
};
