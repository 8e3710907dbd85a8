// Operations understood by famfs_probe.ts (runs in the guest) and its result lines. Every operation is
// self-contained (opens and closes its own file descriptors), so after a SIGBUS the host can restart the probe
// at the next operation.

/** Expected content of a file: seeded bytes, with some ranges overwritten by a constant byte. */
export interface Expected {
  seed: number;
  patches?: Array<{ off: number; len: number; byte: number }>;
}

export type ProbeOp =
  /** open(2) + close(2): reports the errno of the open. */
  | { op: "open"; path: string; flags?: "r" | "rw" }
  /** pread(2) of [off, off+len); compares with `expect` when given. */
  | { op: "read"; path: string; off: number; len: number; expect?: Expected }
  /** pwrite(2) of `len` bytes of `byte` at `off`, then pread(2) back (compared). */
  | { op: "write"; path: string; off: number; len: number; byte: number }
  /**
   * mmap(2) of [mapOff, mapOff+mapLen) (shared), then an access of [off, off+len) relative to the file: a read
   * compared with `expect`, or (prot rw with `byte`) a fill followed by a read back through a second mapping.
   */
  | {
    op: "mmap";
    path: string;
    prot: "r" | "rw";
    mapOff: number;
    mapLen: number;
    off: number;
    len: number;
    expect?: Expected;
    byte?: number;
  }
  /** Device in device_dax mode: compares each file's bytes at its fmap offsets with the expected content. */
  | { op: "raw"; dev: string; files: Array<{ rel: string; expect: Expected }> }
  /** Creates seeded files on a famfs mount (same result as `famfs creat --seed`), in one process. */
  | { op: "create"; mnt: string; files: SeededFileSpec[] };

export interface SeededFileSpec {
  /** Path relative to the mount. */
  rel: string;
  size: number;
  seed: number;
  /** Interleaved allocation: strips and chunk size in bytes. */
  interleave?: { nstrips: number; chunk: number };
}

export interface ProbeResult {
  i: number;
  op: ProbeOp["op"];
  /** errno name (e.g. "ENODEV") of the failing call, or "SIGBUS" (added by the host side). */
  error?: string;
  /** Which call failed: open, read, write, mmap, ... */
  call?: string;
  /** Bytes read/written. */
  n?: number;
  /** Offset of the first byte that differs from the expected content; -1 when all matched. */
  mismatch?: number;
  /** raw: first mismatch per file (-1: equal); create: fmap description per file. */
  files?: Record<string, number | string>;
}
