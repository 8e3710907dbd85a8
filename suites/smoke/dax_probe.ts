// Runs in the guest: maps a devdax device, writes a pattern at a few 2 MiB-aligned offsets,
// reads it back through a second mapping, and prints one JSON line with what it saw.
// Usage: deno run --allow-ffi --allow-read dax_probe.ts /dev/daxX.Y BYTES
import * as libc from "../../src/fuse/libc.ts";

const TWO_MIB = 2 * 1024 * 1024;

function map(fd: number, bytes: number): Deno.PointerObject {
  const p = libc.mmap(null, bytes, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, fd, 0);
  if (!p) throw new Error(`mmap of ${bytes} bytes failed`);
  return p;
}

const [path, size] = Deno.args;
const bytes = Number(size);
const fd = libc.tryOpen(path, libc.O_RDWR);
if (fd < 0) throw new Error(`open ${path} failed`);
const reader = new Deno.UnsafePointerView(map(fd, bytes));
const offsets = [
  0,
  TWO_MIB,
  Math.floor(bytes / 2 / TWO_MIB) * TWO_MIB,
  bytes - TWO_MIB,
];
const pattern = (off: number) => (off / TWO_MIB * 2654435761) >>> 0;
const writer = map(fd, bytes);
for (const off of offsets) {
  new DataView(Deno.UnsafePointerView.getArrayBuffer(writer, 4, off)).setUint32(
    0,
    pattern(off),
    true,
  );
}
const mismatches = offsets.filter((off) => reader.getUint32(off) !== pattern(off));
console.log(JSON.stringify({ path, bytes, offsets, mismatches }));
libc.close(fd);
