// Runs in the guest (one process per group): throughput of mmap and read()/write() on a famfs file or a raw
// devdax device, 4 KiB (PTE) vs 2 MiB (PMD) fault rates, open/close and stat rates. Checks bytes as it goes
// (seeded content for famfs, a written pattern for both) and prints one JSON object.
// Usage: deno run -A bench.ts '{"mode":"famfs"|"raw","path":...,"bytes":N,"seed"?:S}'
// -A: smaps lives in /proc and the raw device in /dev, which Deno refuses otherwise.
import { firstMismatch } from "../../src/famfs/seed.ts";
import * as libc from "../../src/fuse/libc.ts";

interface Args {
  mode: "famfs" | "raw";
  path: string;
  /** Bytes of the file/device to use (a multiple of 2 MiB). */
  bytes: number;
  seed?: number;
}

// mmap flags of the address reservation in map(), which nothing else needs.
const PROT_NONE = 0, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANON = 0x20;
const KIB4 = 4096, MIB = 1 << 20, MIB2 = 2 * MIB;

const args = JSON.parse(Deno.args[0]) as Args;
const cpath = libc.cstr(args.path);
const fd = libc.tryOpen(cpath, libc.O_RDWR);
if (fd < 0) throw new Error(`open ${args.path}: errno ${libc.errno()}`);
const L = args.bytes;

/** Maps [0, len) of the file at a virtual address with the given misalignment from 2 MiB (0: PMD possible). */
function map(len: number, misalign = 0): { ptr: Deno.PointerObject; length: number; view: Uint8Array; addr: bigint } {
  // Reserve, then map the file at an address aligned as asked inside the reservation.
  const span = len + 2 * MIB2;
  const r = libc.mmap(null, span, PROT_NONE, MAP_PRIVATE | MAP_ANON, -1, 0);
  if (!r) throw new Error(`reserve: errno ${libc.errno()}`);
  const rv = Deno.UnsafePointer.value(r);
  const aligned = ((rv + BigInt(MIB2) - 1n) & ~BigInt(MIB2 - 1)) + BigInt(misalign);
  const want = Deno.UnsafePointer.create(aligned);
  const p = libc.mmap(want, len, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED | MAP_FIXED, fd, 0);
  if (!p || Deno.UnsafePointer.value(p) !== aligned) {
    const e = libc.errno();
    libc.munmap({ ptr: r, length: span });
    throw new Error(`mmap ${len} bytes at +${misalign}: errno ${e}`);
  }
  // Trim the reservation around the mapping.
  const head = aligned - rv;
  if (head > 0n) libc.munmap({ ptr: r, length: Number(head) });
  const tail = rv + BigInt(span) - (aligned + BigInt(len));
  if (tail > 0n) libc.munmap({ ptr: Deno.UnsafePointer.create(aligned + BigInt(len)), length: Number(tail) });
  return { ptr: p, length: len, view: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len)), addr: aligned };
}

/** smaps fields of the mapping starting at `addr` (kB values). */
function smaps(addr: bigint): Record<string, number> {
  const text = Deno.readTextFileSync("/proc/self/smaps");
  const start = addr.toString(16);
  const out: Record<string, number> = {};
  let inside = false;
  for (const line of text.split("\n")) {
    const head = line.match(/^([0-9a-f]+)-[0-9a-f]+ /);
    if (head) {
      inside = head[1] === start;
      continue;
    }
    const f = line.match(/^(\w+):\s+(\d+) kB/);
    if (inside && f) out[f[1]] = Number(f[2]);
  }
  return out;
}

const mbps = (bytes: number, ms: number) => Math.round(bytes / MIB / (ms / 1000) * 10) / 10;
function time(f: () => void): number {
  const t = performance.now();
  f();
  return Math.max(performance.now() - t, 0.001);
}
/** Best of `n` runs (TCG timing is noisy; the best run is the least disturbed). */
function best(n: number, f: () => number): number {
  let b = Infinity;
  for (let i = 0; i < n; i++) b = Math.min(b, f());
  return b;
}

// Random 4 KiB block order, the same in every process (xorshift).
function randomBlocks(count: number, blocks: number): number[] {
  let x = 0x9e3779b9;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % blocks;
  });
}

const result: Record<string, unknown> = { mode: args.mode, path: args.path, bytes: L };
const errors: string[] = [];
const chunk = new Uint8Array(MIB);

// Content first: the famfs file still holds its seeded bytes.
if (args.seed !== undefined) {
  const m = map(MIB2);
  const bad = firstMismatch(args.seed, 0, m.view.slice());
  libc.munmap(m);
  if (bad >= 0) errors.push(`mmap: seeded byte mismatch at ${bad}`);
  const buf = new Uint8Array(MIB);
  const n = libc.preadSync(fd, buf, L - MIB);
  if (n !== MIB) errors.push(`pread at ${L - MIB}: ${n < 0 ? `errno ${libc.errno()}` : `${n} bytes`}`);
  else if (firstMismatch(args.seed, L - MIB, buf) >= 0) errors.push(`pread: seeded byte mismatch near ${L - MIB}`);
}

// Sequential mmap read and write, fresh 2 MiB-aligned mapping each run (faults included).
result.mmap_seq_read_MBps = mbps(
  L,
  best(3, () => {
    const m = map(L);
    const ms = time(() => {
      for (let off = 0; off < L; off += MIB) chunk.set(m.view.subarray(off, off + MIB));
    });
    libc.munmap(m);
    return ms;
  }),
);
const pattern = new Uint8Array(MIB).map((_, i) => (i * 7 + 3) & 0xff);
result.mmap_seq_write_MBps = mbps(
  L,
  best(3, () => {
    const m = map(L);
    const ms = time(() => {
      for (let off = 0; off < L; off += MIB) m.view.set(pattern, off);
    });
    libc.munmap(m);
    return ms;
  }),
);

// PMD vs PTE: touch one byte per 4 KiB on a fresh mapping; misaligned by 4 KiB forces PTE faults.
const FAULT_LEN = Math.min(L, 64 * MIB);
function faults(misalign: number): { ms: number; smaps: Record<string, number> } | { error: string } {
  let m;
  try {
    m = map(FAULT_LEN, misalign);
  } catch (e) {
    return { error: (e as Error).message };
  }
  let sum = 0;
  const ms = time(() => {
    for (let off = 0; off < FAULT_LEN; off += KIB4) sum += m.view[off];
  });
  const s = smaps(m.addr);
  libc.munmap(m);
  if (sum < 0) throw new Error("unreachable");
  return { ms, smaps: s };
}
const pmd = faults(0), pte = faults(KIB4);
const pick = (x: typeof pmd) =>
  "error" in x ? { error: x.error } : {
    touch_MBps: mbps(FAULT_LEN, x.ms),
    faults_per_s: Math.round((FAULT_LEN / KIB4) / (x.ms / 1000)),
    FilePmdMapped_kB: x.smaps.FilePmdMapped,
    Rss_kB: x.smaps.Rss,
  };
result.faults_2MiB_aligned = pick(pmd);
result.faults_4KiB_misaligned = pick(pte);

// Random 4 KiB reads and writes through a warm mapping.
{
  const m = map(L);
  m.view.fill(0);
  const order = randomBlocks(16384, L / KIB4);
  const blk = new Uint8Array(KIB4);
  result.mmap_rand_read_MBps = mbps(
    order.length * KIB4,
    best(3, () => time(() => order.forEach((b) => blk.set(m.view.subarray(b * KIB4, b * KIB4 + KIB4))))),
  );
  const wblk = pattern.subarray(0, KIB4);
  result.mmap_rand_write_MBps = mbps(
    order.length * KIB4,
    best(3, () => time(() => order.forEach((b) => m.view.set(wblk, b * KIB4)))),
  );
  // Bytes written through this mapping must be seen through a second mapping.
  const m2 = map(L);
  const b0 = order[0] * KIB4;
  if (m2.view[b0 + 5] !== wblk[5] || m2.view[(order[1] + 1) * KIB4 - 1] !== wblk[KIB4 - 1]) {
    errors.push("random mmap writes not visible through a second mapping");
  }
  libc.munmap(m2);
  libc.munmap(m);
}

// read()/write(): 1 MiB sequential, 4 KiB random. A devdax node has no read(): record what it does.
{
  const probe = new Uint8Array(KIB4);
  const n = libc.preadSync(fd, probe, 0);
  result.pread_4KiB_returns = n < 0 ? `errno ${libc.errno()}` : n;
  if (n === KIB4) {
    const io = (write: boolean, size: number, offs: number[]) =>
      time(() => {
        const buf = write ? pattern.subarray(0, size) : new Uint8Array(size);
        for (const off of offs) {
          const r = write ? libc.pwrite(fd, buf, off) : libc.preadSync(fd, buf, off);
          if (r !== size) throw new Error(`${write ? "pwrite" : "pread"} at ${off}: ${r} (errno ${libc.errno()})`);
        }
      });
    const seq = Array.from({ length: L / MIB }, (_, i) => i * MIB);
    const rnd = randomBlocks(16384, L / KIB4).map((b) => b * KIB4);
    try {
      result.read_seq_MBps = mbps(L, best(3, () => io(false, MIB, seq)));
      result.write_seq_MBps = mbps(L, best(3, () => io(true, MIB, seq)));
      // write() then mmap read of the same bytes.
      const m = map(MIB2);
      if (firstMismatchPattern(m.view.subarray(0, MIB)) >= 0) errors.push("write() bytes not seen through mmap");
      libc.munmap(m);
      result.read_rand_MBps = mbps(rnd.length * KIB4, best(3, () => io(false, KIB4, rnd)));
      result.write_rand_MBps = mbps(rnd.length * KIB4, best(3, () => io(true, KIB4, rnd)));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
}

function firstMismatchPattern(b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) if (b[i] !== pattern[i]) return i;
  return -1;
}

// Metadata rates: open/close and stat of the path for ~1 s each.
function rate(f: () => void): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    f();
    n++;
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}
result.open_close_per_s = rate(() => {
  const f = libc.tryOpen(cpath, libc.O_RDWR);
  if (f < 0) throw new Error(`open: errno ${libc.errno()}`);
  libc.close(f);
});
result.stat_per_s = rate(() => Deno.statSync(args.path));

libc.close(fd);
result.errors = errors;
console.log(JSON.stringify(result));
