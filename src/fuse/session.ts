/**
 * FUSE session (main thread): opens /dev/fuse, mounts with mount(2), clones
 * one fd per worker (FUSE_DEV_IOC_CLONE) and starts one worker thread per fd.
 * The main thread never serves requests, so it may use the mount itself.
 */
import type { InitOut } from "./codec.ts";
import { FuseInitError, FuseMountError } from "./errors.ts";
import * as libc from "./libc.ts";
import { InterruptTable } from "./loop.ts";
import { ReadGate } from "./read_gate.ts";
import type { WorkerEvent, WorkerStart } from "./worker_main.ts";

export interface SessionOptions {
  mountpoint: string;
  /** Shown as the mount source. */
  source: string;
  /** Mounted as fuse.<subtype>. */
  subtype: string;
  workers: number;
  /** Largest WRITE payload the server accepts (sizes the read buffers). */
  maxWrite: number;
  allowOther: boolean;
  /** Let the kernel enforce file mode, uid and gid (the server does no access checks itself). */
  defaultPermissions: boolean;
  /** Module URL exporting `createServer` (see server.ts). */
  serverModule: string;
  serverConfig: unknown;
  /** Shared memory given to every server instance. */
  shared?: SharedArrayBuffer;
}

export type ExitReason = "unmounted" | "aborted" | "init-refused" | "failed";

const FUSE_DEV_IOC_CLONE = 0x8004e500n;

export class FuseSession {
  private fds: number[] = [];
  private workers: Worker[] = [];
  private unmountRequested = false;
  private initError: Error | undefined;
  private workerError: string | undefined;
  private resolveInit!: (o: InitOut) => void;
  private rejectInit!: (e: Error) => void;
  private exited!: Promise<void>;
  /** Resolves once INIT has been answered successfully. */
  readonly initDone: Promise<InitOut>;
  /** Connection id under /sys/fs/fuse/connections (known after INIT). */
  connectionId: number | undefined;
  /** Messages posted by server instances (ServerContext.post). */
  onServerMessage: (message: unknown) => void = () => {};

  private constructor(readonly opts: SessionOptions) {
    this.initDone = new Promise((res, rej) => {
      this.resolveInit = res;
      this.rejectInit = rej;
    });
    this.initDone.catch(() => {});
  }

  /** Opens /dev/fuse, mounts, and starts the workers. */
  static mount(opts: SessionOptions): FuseSession {
    const s = new FuseSession(opts);
    let fd: number;
    try {
      fd = libc.open("/dev/fuse", libc.O_RDWR | libc.O_CLOEXEC);
    } catch (e) {
      throw new FuseMountError(
        `cannot open /dev/fuse (needs root and the fuse module): ${(e as Error).message}`,
      );
    }
    const data = `fd=${fd},rootmode=40000,user_id=${libc.getuid()},group_id=${libc.getgid()}` +
      (opts.allowOther ? ",allow_other" : "") + (opts.defaultPermissions ? ",default_permissions" : "") +
      `,max_read=${opts.maxWrite}`;
    try {
      libc.mount(
        opts.source,
        opts.mountpoint,
        `fuse.${opts.subtype}`,
        libc.MS_NOSUID | libc.MS_NODEV,
        data,
      );
    } catch (e) {
      libc.close(fd);
      throw new FuseMountError(
        `mount of ${opts.mountpoint} failed: ${(e as Error).message}`,
      );
    }
    s.fds.push(fd);
    const n = Math.max(1, opts.workers);
    for (let i = 1; i < n; i++) {
      const c = libc.open("/dev/fuse", libc.O_RDWR | libc.O_CLOEXEC);
      const arg = new Uint8Array(4);
      new DataView(arg.buffer).setUint32(0, fd, true);
      try {
        libc.ioctl(c, FUSE_DEV_IOC_CLONE, arg, "FUSE_DEV_IOC_CLONE");
      } catch (e) {
        libc.close(c);
        for (const f of s.fds) libc.close(f);
        libc.umount2(opts.mountpoint, libc.MNT_DETACH);
        throw new FuseMountError(
          `cannot clone the /dev/fuse fd: ${(e as Error).message}`,
        );
      }
      s.fds.push(c);
    }
    s.start();
    return s;
  }

  private start(): void {
    const n = this.fds.length;
    const interrupts = new SharedArrayBuffer(InterruptTable.bytes(n));
    const gate = new SharedArrayBuffer(ReadGate.bytes());
    const shared = this.opts.shared ?? new SharedArrayBuffer(8);
    const pending = new Set<number>();
    let allExited!: () => void;
    this.exited = new Promise((r) => (allExited = r));
    this.fds.forEach((fd, index) => {
      const w = new Worker(new URL("./worker_main.ts", import.meta.url), {
        type: "module",
      });
      pending.add(index);
      w.onmessage = (e: MessageEvent<WorkerEvent>) => {
        const ev = e.data;
        switch (ev.type) {
          case "init":
            this.afterInit(ev.out);
            break;
          case "init-refused":
            this.initError = new FuseInitError(ev.message);
            this.rejectInit(this.initError);
            libc.umount2(this.opts.mountpoint, libc.MNT_DETACH);
            this.abortConnection();
            break;
          case "server":
            this.onServerMessage(ev.message);
            break;
          case "error":
            this.workerError = ev.message;
            console.error(`fuse: worker ${index} failed: ${ev.message}`);
            this.rejectInit(
              new FuseMountError(`worker ${index} failed: ${ev.message}`),
            );
            this.unmount();
            break;
          case "exit":
            pending.delete(index);
            if (pending.size === 0) allExited();
            break;
        }
      };
      const start: WorkerStart = {
        fd,
        index,
        workers: n,
        serverModule: this.opts.serverModule,
        serverConfig: this.opts.serverConfig,
        shared,
        interrupts,
        gate,
        bufferSize: this.opts.maxWrite + 8192,
      };
      w.postMessage(start);
      this.workers.push(w);
    });
  }

  /** Waits until the connection ends; then makes sure nothing stays mounted. */
  async run(): Promise<ExitReason> {
    await this.exited;
    for (const w of this.workers) w.terminate();
    for (const fd of this.fds) libc.close(fd);
    this.fds = [];
    if (this.initError) return "init-refused";
    if (this.workerError) {
      libc.umount2(this.opts.mountpoint, libc.MNT_DETACH);
      return "failed";
    }
    if (this.unmountRequested) {
      libc.umount2(this.opts.mountpoint, libc.MNT_DETACH);
      return "unmounted";
    }
    // The connection ended without our unmount: an external umount or an abort.
    if (isMounted(this.opts.mountpoint)) {
      libc.umount2(this.opts.mountpoint, libc.MNT_DETACH);
      return "aborted";
    }
    return "unmounted";
  }

  /** Unmounts (lazily when busy, then aborts); the workers end when the kernel drops the connection. */
  unmount(): void {
    if (this.unmountRequested) return;
    this.unmountRequested = true;
    if (libc.umount2(this.opts.mountpoint, 0) === 0) return;
    libc.umount2(this.opts.mountpoint, libc.MNT_DETACH);
    // A lazily detached mount with open files keeps the connection alive.
    setTimeout(() => this.abortConnection(), 500);
  }

  /** Writes 1 to /sys/fs/fuse/connections/<id>/abort (no-op when unknown or gone). */
  abortConnection(): void {
    if (this.connectionId === undefined || this.fds.length === 0) return;
    ensureFusectl();
    try {
      libc.writeFileFfi(
        `/sys/fs/fuse/connections/${this.connectionId}/abort`,
        "1",
      );
    } catch {
      // connection already gone, or fusectl not mounted
    }
  }

  private afterInit(out: InitOut): void {
    const st = libc.statPath(this.opts.mountpoint);
    if (st) this.connectionId = Number(st.dev);
    this.resolveInit(out);
  }
}

/**
 * Mounts fusectl on /sys/fs/fuse/connections when it is not mounted yet
 * (needed to abort a connection). Returns false when that fails.
 */
export function ensureFusectl(): boolean {
  const dir = "/sys/fs/fuse/connections";
  if (isMounted(dir)) return true;
  try {
    libc.mount("fusectl", dir, "fusectl", 0n, "");
    return true;
  } catch {
    return false;
  }
}

/** True when `path` is a mount point listed in /proc/self/mountinfo. */
export function isMounted(path: string): boolean {
  let abs = path;
  try {
    abs = Deno.realPathSync(path);
  } catch {
    // keep the given path
  }
  const info = new TextDecoder().decode(
    libc.readFileFfi("/proc/self/mountinfo"),
  );
  return info.split("\n").some((l) => {
    const mp = l.split(" ")[4];
    return mp === abs || mp === path;
  });
}
