/**
 * Minimal test assertions. node:assert would need npm:@types/node for
 * `deno check`, which the repository does not install.
 */

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) {
    return `Uint8Array(${v.byteLength})[${Array.from(v.subarray(0, 64)).join(",")}]`;
  }
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x);
  } catch {
    return String(v);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) =>
      deepEqual(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
      )
    );
  }
  return false;
}

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

export function assertThrows<E extends Error>(
  fn: () => unknown,
  cls?: abstract new (...args: never[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (e) {
    check(e, cls, includes);
    return e as E;
  }
  throw new AssertionError("expected an exception");
}

export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  cls?: abstract new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    check(e, cls, includes);
    return e as E;
  }
  throw new AssertionError("expected a rejection");
}

function check(
  e: unknown,
  cls?: abstract new (...args: never[]) => Error,
  includes?: string,
): void {
  if (cls && !(e instanceof cls)) {
    throw new AssertionError(`expected ${cls.name}, got ${show(String(e))}`);
  }
  if (includes && !(e as Error).message.includes(includes)) {
    throw new AssertionError(
      `error message ${show((e as Error).message)} lacks ${show(includes)}`,
    );
  }
}
