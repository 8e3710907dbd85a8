/**
 * Seeded file content: byte i of a file created with seed S is a pure
 * function of (S, i), so any range can be computed without the rest.
 * Suites use it to compare what read(), mmap() and the raw device show.
 */

function mix(seed: number, hi: number, word: number): number {
  let h = (seed ^ Math.imul(word, 0x9e3779b1) ^ Math.imul(hi + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Expected bytes [offset, offset+length) of a file filled with `seed`. */
export function seededBytes(
  seed: number,
  offset: number,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  const s = seed >>> 0;
  let i = 0;
  while (i < length) {
    const pos = offset + i;
    const w = Math.floor(pos / 4);
    const hi = Math.floor(w / 0x100000000);
    const x = mix(s, hi, w >>> 0);
    for (let k = pos % 4; k < 4 && i < length; k++, i++) {
      out[i] = (x >>> (k * 8)) & 0xff;
    }
  }
  return out;
}

/** Offset of the first byte of `actual` that differs from the seeded content, or -1. */
export function firstMismatch(
  seed: number,
  offset: number,
  actual: Uint8Array,
): number {
  const exp = seededBytes(seed, offset, actual.byteLength);
  for (let i = 0; i < actual.byteLength; i++) {
    if (exp[i] !== actual[i]) return offset + i;
  }
  return -1;
}
