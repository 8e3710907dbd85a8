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

// The last two buffers seen (a worker's request and reply buffers): a DataView per struct access costs as much as
// the access.
let lastBuffer: ArrayBufferLike | undefined, lastView: DataView | undefined;
let prevBuffer: ArrayBufferLike | undefined, prevView: DataView | undefined;

function viewOf(b: ArrayBufferLike): DataView {
  if (b === lastBuffer) return lastView!;
  if (b === prevBuffer) {
    [prevBuffer, prevView, lastBuffer, lastView] = [lastBuffer, lastView, prevBuffer, prevView];
    return lastView!;
  }
  prevBuffer = lastBuffer;
  prevView = lastView;
  lastBuffer = b;
  lastView = new DataView(b);
  return lastView;
}

/** Reads one byte-array or string field (shared by the compiled decoders). */
function readBytes(buf: Uint8Array, at: number, size: number, present: boolean): Uint8Array {
  return present ? buf.slice(at, at + size) : new Uint8Array(size);
}

function readString(buf: Uint8Array, at: number, size: number, present: boolean): string {
  const bytes = readBytes(buf, at, size, present);
  const end = bytes.indexOf(0);
  return td.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function outOfBounds(): never {
  throw new RangeError("Offset is outside the bounds of the DataView");
}

function writeBytes(out: Uint8Array, at: number, size: number, x: string | Uint8Array): void {
  const bytes = typeof x === "string" ? te.encode(x) : x;
  out.set(bytes.subarray(0, size), at);
}

const GETTER: Record<string, string> = {
  u8: "getUint8(A)",
  u16: "getUint16(A, true)",
  u32: "getUint32(A, true)",
  i32: "getInt32(A, true)",
  u64: "getBigUint64(A, true)",
};
const SETTER: Record<string, string> = {
  u8: "setUint8(A, X)",
  u16: "setUint16(A, X, true)",
  u32: "setUint32(A, X, true)",
  i32: "setInt32(A, X, true)",
  u64: "setBigUint64(A, X, true)",
};

/** `v` views the whole ArrayBuffer; `base` is the typed array's byteOffset in it, `n` its byteLength. */
type Decoder = (v: DataView, base: number, buf: Uint8Array, off: number, n: number) => Record<string, unknown>;
type Encoder = (
  v: DataView,
  base: number,
  out: Uint8Array,
  off: number,
  n: number,
  rec: Record<string, unknown>,
) => void;

/**
 * Compiles a field table into one straight-line decoder and encoder. The
 * generic loop over the table (a switch per field, properties set by computed
 * name) cost more than the rest of a small FUSE request; the compiled code does
 * the same reads and writes in the same order, built from the same table.
 */
function compile(placed: Placed[]): { decode: Decoder; encode: Encoder } {
  const dec: string[] = [];
  const enc: string[] = [];
  for (const p of placed) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) throw new RangeError(`field name ${JSON.stringify(p.name)}`);
    const at = `off + ${p.offset}`;
    const present = `${at} + ${p.size} <= n`;
    const fits = `if (!(${present})) outOfBounds();`;
    const get = GETTER[p.type];
    if (get) {
      const zero = p.type === "u64" ? "0n" : "0";
      dec.push(`${p.name}: ${present} ? v.${get.replace("A", `base + ${at}`)} : ${zero}`);
      enc.push(
        `x = rec.${p.name}; if (x !== undefined) { ${fits} v.${
          SETTER[p.type].replace("A", `base + ${at}`).replace("X", "x")
        }; }`,
      );
    } else {
      const read = p.type.startsWith("string") ? "readString" : "readBytes";
      dec.push(`${p.name}: ${read}(buf, ${at}, ${p.size}, ${present})`);
      enc.push(`x = rec.${p.name}; if (x !== undefined) { ${fits} writeBytes(out, ${at}, ${p.size}, x); }`);
    }
  }
  const helpers = { readBytes, readString, writeBytes, outOfBounds };
  const names = Object.keys(helpers);
  const make = (params: string, body: string) =>
    new Function(...names, `return function (${params}) { ${body} };`)(...Object.values(helpers));
  return {
    decode: make("v, base, buf, off, n", `return { ${dec.join(", ")} };`) as Decoder,
    encode: make("v, base, out, off, n, rec", `let x; ${enc.join(" ")}`) as Encoder,
  };
}

export class Struct<F extends readonly Field[]> {
  readonly size: number;
  readonly minSize: number;
  private readonly placed: Placed[];
  private readonly compiled: { decode: Decoder; encode: Encoder };

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
    this.compiled = compile(this.placed);
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

  /** Writes the struct at `off` of `out`; fields left undefined are not written. */
  encodeInto(out: Uint8Array, off: number, value: Encodable<F>): void {
    this.compiled.encode(
      viewOf(out.buffer),
      out.byteOffset,
      out,
      off,
      out.byteLength,
      value as Record<string, unknown>,
    );
  }

  /** Reads the struct at `off`; throws FuseDecodeError when the body is shorter than minSize. */
  decode(buf: Uint8Array, off = 0): Decoded<F> {
    if (buf.byteLength - off < this.minSize) {
      throw new FuseDecodeError(
        `${this.name}: body has ${Math.max(0, buf.byteLength - off)} bytes, needs ${this.minSize}`,
      );
    }
    return this.compiled.decode(viewOf(buf.buffer), buf.byteOffset, buf, off, buf.byteLength) as Decoded<F>;
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
