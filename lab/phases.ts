// Phases of one lab command (e.g. `lab exec`: provision check, kernel lookup, boot, SSH, command,
// power-off), timed in order and written as phases.json beside the guest's console log, so a
// benchmark can say where the wall time went.

export interface Phase {
  name: string;
  /** Milliseconds since the clock started. */
  startMs: number;
  ms: number;
}

export class PhaseClock {
  readonly phases: Phase[] = [];
  readonly #origin: number;

  /** `origin`: a performance.now() value to count from (default: now). */
  constructor(origin = performance.now()) {
    this.#origin = origin;
  }

  /** Runs `f` as phase `name`; the phase is recorded also when `f` throws. */
  async time<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.phases.push({ name, startMs: Math.round(t0 - this.#origin), ms: Math.round(performance.now() - t0) });
    }
  }

  /** Records a phase that ended now and started at performance.now() value `t0`. */
  since(name: string, t0: number): void {
    this.phases.push({ name, startMs: Math.round(t0 - this.#origin), ms: Math.round(performance.now() - t0) });
  }

  /** Milliseconds from the clock's origin to now. */
  elapsedMs(): number {
    return Math.round(performance.now() - this.#origin);
  }
}

/** The phases.json text: phases in order and the wall time they belong to. */
export function renderPhases(clock: PhaseClock): string {
  return JSON.stringify({ wallMs: clock.elapsedMs(), phases: clock.phases }, null, 2) + "\n";
}
