/**
 * Lets one worker at a time wait in read(2) on /dev/fuse while the others
 * park. The kernel hands a request to the reader that has waited longest, so
 * with every worker in read() consecutive requests alternate between workers,
 * and each worker (its own V8 isolate: its own code and heap) starts every
 * request with cold caches. A parked worker takes its turn when nobody is
 * reading: at once when the reader took a request the caller marks as long
 * (a data copy another worker should overlap), else at its next check. After
 * a long request a worker reads again without parking, so while data is
 * copied every worker reads, as without the gate. Checks
 * start PARK_MS apart and back off to PARK_MAX_MS while somebody keeps reading
 * (an idle daemon wakes about 12 times a second per parked worker); a request
 * stuck in a slow handler (a scenario delay) holds the next one back at most
 * PARK_MAX_MS.
 */

export const PARK_MS = 5;
export const PARK_MAX_MS = 80;

const READING = 0;
const GENERATION = 1;

export class ReadGate {
  private readonly words: Int32Array;

  /**
   * `sab`: ReadGate.bytes() of shared memory, zeroed, the same for every worker of a connection.
   * `parkMs`/`parkMaxMs`: the first and the longest interval between checks (tests stretch them).
   */
  constructor(sab: SharedArrayBuffer, readonly parkMs = PARK_MS, readonly parkMaxMs = PARK_MAX_MS) {
    this.words = new Int32Array(sab, 0, 2);
  }

  /** A cache line of its own. */
  static bytes(): number {
    return 64;
  }

  /** Before read(): parks while another worker is reading (with `park` false: reads at once). */
  enter(park = true): void {
    const w = this.words;
    let waitMs = this.parkMs;
    for (; park;) {
      const generation = Atomics.load(w, GENERATION);
      if (Atomics.load(w, READING) === 0) break;
      if (Atomics.wait(w, GENERATION, generation, waitMs) === "timed-out") {
        waitMs = Math.min(2 * waitMs, this.parkMaxMs);
      }
    }
    Atomics.add(w, READING, 1);
  }

  /** After read() returned; `long`: wake a parked worker to read while this one is busy. */
  leave(long: boolean): void {
    Atomics.sub(this.words, READING, 1);
    if (long) this.wakeParked(1);
  }

  /** This worker ends: every parked worker reads again (and sees the connection gone). */
  close(): void {
    this.wakeParked(Infinity);
  }

  /** Workers in read() now (for tests). */
  get reading(): number {
    return Atomics.load(this.words, READING);
  }

  private wakeParked(count: number): void {
    Atomics.add(this.words, GENERATION, 1);
    Atomics.notify(this.words, GENERATION, count);
  }
}
