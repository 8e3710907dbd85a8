// One status line for long work: rewritten in place on a terminal, a line every
// `everyMs` otherwise (CI logs stay short but show the work is alive).
export class Progress {
  #last = 0;
  #started = Date.now();
  #tty = Deno.stderr.isTerminal();
  #width = 0;

  constructor(private label: string, private everyMs = 30_000) {}

  elapsed(): string {
    return formatDuration(Date.now() - this.#started);
  }

  update(status: string): void {
    const now = Date.now();
    const line = `[${this.label}] ${this.elapsed()} ${status}`;
    if (this.#tty) {
      if (now - this.#last < 200) return;
      const cols = Deno.consoleSize().columns;
      const shown = line.slice(0, cols - 1);
      Deno.stderr.writeSync(
        new TextEncoder().encode(`\r${shown.padEnd(this.#width)}`),
      );
      this.#width = shown.length;
    } else {
      if (now - this.#last < this.everyMs) return;
      console.error(line);
    }
    this.#last = now;
  }

  done(status: string): void {
    if (this.#tty && this.#width > 0) {
      Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    }
    console.error(`[${this.label}] ${status} (${this.elapsed()})`);
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
