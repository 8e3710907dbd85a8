// Operations understood by famfs_probe.ts (runs in the guest) and its result lines: the one probe of every famfs
// suite. Path operations (`path`) open and close their own descriptor, so after a SIGBUS the host restarts the probe
// at the next operation; handle operations (`fd`, `map`) work on descriptors and mappings kept open by earlier
// operations of the same process (open with an `id`, map), e.g. to keep a file mapped across a teardown.

/** Expected content of a file: seeded bytes, with some ranges overwritten by a constant byte. */
export interface Expected {
  seed: number;
  patches?: Array<{ off: number; len: number; byte: number }>;
}

/** What an operation works on: a path (opened and closed by the operation) or a kept descriptor. */
export type Target = { path: string } | { fd: string };

export type ProbeOp =
  /** open(2): without `id` closed at once (reports the errno of the open); with `id` kept as handle `id`. */
  | { op: "open"; path: string; flags?: "r" | "w" | "rw"; id?: string }
  /** close(2) of a kept descriptor. */
  | { op: "close"; fd: string }
  /** pread(2) of [off, off+len); compares with `expect` when given (only the bytes read: check `n`). */
  | ({ op: "read"; off: number; len: number; expect?: Expected } & Target)
  /** pwrite(2) of `len` bytes of `byte` at `off`; on a path, then pread(2) back (compared). */
  | ({ op: "write"; off: number; len: number; byte: number } & Target)
  /** pwrite(2) of the seeded bytes of [off, off+len) (undoes writes), then pread(2) back (compared). */
  | { op: "restore"; path: string; off: number; len: number; seed: number }
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
  /** mmap(2) of [off, off+len) of a kept descriptor, kept as mapping `id` (nothing is accessed). */
  | { op: "map"; fd: string; id: string; len: number; prot: "r" | "rw"; off?: number }
  | { op: "munmap"; map: string }
  /**
   * Access of [off, off+len) of a kept mapping: a read compared with `expect` at file offset `fileOff` (default
   * `off`), or a fill with `write`.
   */
  | { op: "touch"; map: string; off: number; len: number; expect?: Expected; fileOff?: number; write?: number }
  /** Waits until `path` exists (lets a test act while mappings are live). */
  | { op: "wait"; path: string; timeoutMs: number }
  /** Device in device_dax mode: compares each file's bytes at its fmap offsets with the expected content. */
  | { op: "raw"; dev: string; files: Array<{ rel: string; expect: Expected }> }
  /** Creates seeded files on a famfs mount (same result as `famfs creat --seed`), in one process. */
  | { op: "create"; mnt: string; files: SeededFileSpec[] }
  /** stat(2): st_size in `n`. */
  | { op: "stat"; path: string }
  /** read(2) from offset 0 in `chunk`-byte calls until it returns 0: bytes in `n`, calls in `reads`. */
  | { op: "readall"; path: string; chunk: number; expect?: Expected }
  /** write(2) of `len` bytes of `byte` on an O_APPEND descriptor. */
  | { op: "append"; path: string; len: number; byte: number }
  /** truncate(2) ("path") or ftruncate(2) ("fd") to `size`. */
  | { op: "truncate"; path: string; size: number; how: "path" | "fd" }
  /** open(2) with O_RDWR | O_TRUNC, then close. */
  | { op: "opentrunc"; path: string }
  /** fallocate(2), mode 0. */
  | { op: "fallocate"; path: string; off: number; len: number }
  /** Device in device_dax mode: its first `len` bytes saved to `file` (a guest path). */
  | { op: "snapshot"; dev: string; file: string; len: number }
  /**
   * Each range of a file, read with pread(2) or through a shared mapping of the file, compared with the snapshot's
   * bytes at the range's device offset.
   */
  | { op: "mapcheck"; path: string; snapshot: string; ranges: DevRange[]; via: "read" | "mmap" }
  /**
   * Device in device_dax mode vs a snapshot: `changed` is the first offset that changed outside `writes`,
   * `mismatch` the first offset inside a write not holding its byte (-1: none).
   */
  | { op: "rawdiff"; dev: string; snapshot: string; writes: DevWrite[] };

/** Bytes [fileOff, fileOff+len) of a file, stored at devOff on the device. */
export interface DevRange {
  fileOff: number;
  devOff: number;
  len: number;
}

/** A write of `len` bytes of `byte` expected at device offset devOff. */
export interface DevWrite {
  devOff: number;
  len: number;
  byte: number;
}

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
  /**
   * errno name (e.g. "ENODEV") of the failing call; "SIGBUS" (added by the host side) when the access died of it;
   * "not-open" for a handle whose open failed; "timeout" for a wait that ran out.
   */
  error?: string;
  /** Which call failed: open, read, write, mmap, access, ... */
  call?: string;
  /** Bytes read/written; stat: st_size. */
  n?: number;
  /** readall: read() calls made (the last returned 0). */
  reads?: number;
  /** rawdiff: first changed device offset outside the expected writes (-1: none). */
  changed?: number;
  /** Offset of the first byte that differs from the expected content; -1 when all matched. */
  mismatch?: number;
  /** raw: first mismatch per file (-1: equal); create: fmap description per file. */
  files?: Record<string, number | string>;
}
