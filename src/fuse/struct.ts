/**
 * Wire structs as field tables: each struct is listed once (name, type, and an
 * offset implied by order unless given) and both encoded and decoded from that
 * list. Little endian. Pure.
 */
import { FuseDecodeError } from "./errors.ts";

/** Field types: integers, raw byte arrays and NUL-padded strings of fixed size. */
export type FieldType =
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "i32"
  | `bytes[${number}]`
  | `string[${number}]`;

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  /** Byte offset; omitted: right after the previous field. */
  readonly offset?: number;
  /** Reserved or padding: may be left out when encoding (written as zero). */
  readonly zero?: true;
}

export type FieldValue<T extends FieldType> = T extends "u64" ? bigint
  : T extends `bytes[${number}]` ? Uint8Array
  : T extends `string[${number}]` ? string
  : number;

/** A decoded struct: every field. */
export type Decoded<F extends readonly Field[]> = {
  [K in F[number] as K["name"]]: FieldValue<K["type"]>;
};

/** What encode() needs: every field except the `zero` ones, which are optional. */
export type Encodable<F extends readonly Field[]> =
  & { [K in F[number] as K extends { zero: true } ? never : K["name"]]: FieldValue<K["type"]> }
  & { [K in F[number] as K extends { zero: true } ? K["name"] : never]?: FieldValue<K["type"]> };

interface Placed {
  name: string;
  type: FieldType;
  offset: number;
  size: number;
}

const SCALAR_SIZE: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, i32: 4 };
const te = new TextEncoder();
const td = new TextDecoder();

function sizeOf(type: FieldType): number {
  const scalar = SCALAR_SIZE[type];
  if (scalar !== undefined) return scalar;
  return Number(/\[(\d+)\]$/.exec(type)![1]);
}

export class Struct<F extends readonly Field[]> {
  readonly size: number;
  readonly minSize: number;
  private readonly placed: Placed[];

  /**
   * `size` covers tail padding the fields do not list; `minSize` is the
   * shortest body decode() accepts (fields past the body decode as zero).
   */
  constructor(
    readonly name: string,
    readonly fields: F,
    opts: { size?: number; minSize?: number } = {},
  ) {
    let at = 0;
    this.placed = fields.map((f) => {
      const offset = f.offset ?? at;
      const size = sizeOf(f.type);
      at = offset + size;
      return { name: f.name, type: f.type, offset, size };
    });
    this.size = opts.size ?? at;
    if (at > this.size) throw new RangeError(`${name}: fields end at ${at}, past size ${this.size}`);
    this.minSize = opts.minSize ?? this.size;
  }

  /** Offset of a field (for tests and for structs that point into others). */
  offsetOf(field: F[number]["name"]): number {
    return this.placed.find((p) => p.name === field)!.offset;
  }

  encode(value: Encodable<F>): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.size);
    this.encodeInto(out, 0, value);
    return out;
  }

  /** Writes the struct at `off` of `out`. */
  encodeInto(out: Uint8Array, off: number, value: Encodable<F>): void {
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const rec = value as Record<string, number | bigint | string | Uint8Array | undefined>;
    for (const p of this.placed) {
      const x = rec[p.name];
      if (x === undefined) continue;
      const at = off + p.offset;
      switch (p.type) {
        case "u8":
          v.setUint8(at, x as number);
          break;
        case "u16":
          v.setUint16(at, x as number, true);
          break;
        case "u32":
          v.setUint32(at, x as number, true);
          break;
        case "i32":
          v.setInt32(at, x as number, true);
          break;
        case "u64":
          v.setBigUint64(at, x as bigint, true);
          break;
        default: {
          const bytes = typeof x === "string" ? te.encode(x) : x as Uint8Array;
          out.set(bytes.subarray(0, p.size), at);
        }
      }
    }
  }

  /** Reads the struct at `off`; throws FuseDecodeError when the body is shorter than minSize. */
  decode(buf: Uint8Array, off = 0): Decoded<F> {
    if (buf.byteLength - off < this.minSize) {
      throw new FuseDecodeError(
        `${this.name}: body has ${Math.max(0, buf.byteLength - off)} bytes, needs ${this.minSize}`,
      );
    }
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out: Record<string, number | bigint | string | Uint8Array> = {};
    for (const p of this.placed) {
      const at = off + p.offset;
      const present = at + p.size <= buf.byteLength;
      switch (p.type) {
        case "u8":
          out[p.name] = present ? v.getUint8(at) : 0;
          break;
        case "u16":
          out[p.name] = present ? v.getUint16(at, true) : 0;
          break;
        case "u32":
          out[p.name] = present ? v.getUint32(at, true) : 0;
          break;
        case "i32":
          out[p.name] = present ? v.getInt32(at, true) : 0;
          break;
        case "u64":
          out[p.name] = present ? v.getBigUint64(at, true) : 0n;
          break;
        default: {
          const bytes = present ? buf.slice(at, at + p.size) : new Uint8Array(p.size);
          if (p.type.startsWith("string")) {
            const end = bytes.indexOf(0);
            out[p.name] = td.decode(end < 0 ? bytes : bytes.subarray(0, end));
          } else out[p.name] = bytes;
        }
      }
    }
    return out as Decoded<F>;
  }
}

/** Declares a struct; `const` keeps the field names and types literal for typing. */
export function struct<const F extends readonly Field[]>(
  name: string,
  fields: F,
  opts?: { size?: number; minSize?: number },
): Struct<F> {
  return new Struct(name, fields, opts);
}
