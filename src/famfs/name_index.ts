/**
 * Directory entries by (parent inode, UTF-8 name bytes), so LOOKUP finds a
 * node straight from the request bytes. Making a string of the name and
 * hashing it for a Map<string> lookup costs more than the rest of a LOOKUP.
 * A miss is not an answer: the caller falls back to the lookup by string.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const te = new TextEncoder();

interface Entry<T> {
  parent: number;
  bytes: Uint8Array;
  value: T;
}

/** FNV-1a over the parent number (both 32-bit halves) and the name bytes [0, end), cut to 30 bits. */
function hashOf(parent: number, name: Uint8Array, end: number): number {
  let h = Math.imul(FNV_OFFSET ^ (parent >>> 0), FNV_PRIME);
  h = Math.imul(h ^ Math.floor(parent / 0x100000000), FNV_PRIME);
  for (let i = 0; i < end; i++) h = Math.imul(h ^ name[i], FNV_PRIME);
  // 30 bits: a small integer Map key; a 32-bit one may be a heap number, hashed by a runtime call.
  return h >>> 2;
}

export class NameIndex<T> {
  private readonly buckets = new Map<number, Entry<T>[]>();

  add(parent: number, name: string, value: T): void {
    const bytes = te.encode(name);
    const h = hashOf(parent, bytes, bytes.length);
    const entry = { parent, bytes, value };
    const bucket = this.buckets.get(h);
    if (bucket) bucket.push(entry);
    else this.buckets.set(h, [entry]);
  }

  /** The value added under `parent` for the name in name[0, end), or undefined. */
  find(parent: number, name: Uint8Array, end: number): T | undefined {
    const bucket = this.buckets.get(hashOf(parent, name, end));
    if (!bucket) return undefined;
    for (const e of bucket) {
      if (e.parent === parent && sameBytes(e.bytes, name, end)) return e.value;
    }
    return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, end: number): boolean {
  if (a.length !== end) return false;
  for (let i = 0; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
}
