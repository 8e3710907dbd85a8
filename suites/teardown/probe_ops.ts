// Operations understood by probe.ts (runs in the guest). `id`/`fd`/`map` name open files and mappings.
export type ProbeOp =
  | { op: "open"; path: string; flags: "r" | "w" | "rw"; id?: string }
  | { op: "close"; fd: string }
  | { op: "read"; fd: string; off: number; len: number; seed?: number }
  | { op: "write"; fd: string; off: number; len: number; byte: number }
  | { op: "mmap"; fd: string; id: string; len: number; prot: "r" | "rw"; off?: number }
  | { op: "munmap"; map: string }
  /** Reads (compares with `seed` at file offset `fileOff`, default `off`) or fills `len` bytes of a mapping. */
  | { op: "touch"; map: string; off: number; len: number; seed?: number; fileOff?: number; write?: number }
  /** Waits until `path` exists (lets a test act while mappings are live). */
  | { op: "wait"; path: string; timeoutMs: number };

/** One line of probe output: `error` is an errno name, "timeout" or (added by the client) "SIGBUS". */
export interface ProbeResult {
  i: number;
  op: string;
  error?: string;
  n?: number;
  /** firstMismatch(): -1 when every byte matched the seed. */
  mismatch?: number;
  written?: number;
}
