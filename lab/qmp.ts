// A minimal QMP client on QEMU's unix socket: capabilities handshake, commands, events.
export type QmpValue = Record<string, unknown>;

export class QmpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QmpError";
  }
}

export class Qmp {
  #conn: Deno.UnixConn;
  #buf = "";
  #waiting: ((msg: QmpValue) => void)[] = [];
  readonly events: QmpValue[] = [];
  #closed: Promise<void>;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#closed = this.#readLoop();
  }

  static async connect(path: string, timeoutMs: number): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const q = new Qmp(await Deno.connect({ transport: "unix", path }));
        await q.#next(); // greeting
        await q.command("qmp_capabilities");
        return q;
      } catch (e) {
        if (Date.now() > deadline) {
          throw new QmpError(
            `cannot connect to QMP at ${path}: ${(e as Error).message}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async #readLoop(): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const chunk of this.#conn.readable) {
        this.#buf += dec.decode(chunk);
        let nl: number;
        while ((nl = this.#buf.indexOf("\n")) >= 0) {
          const line = this.#buf.slice(0, nl).trim();
          this.#buf = this.#buf.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as QmpValue;
          if ("event" in msg) this.events.push(msg);
          else this.#waiting.shift()?.(msg);
        }
      }
    } catch { /* QEMU went away */ }
    for (const w of this.#waiting.splice(0)) {
      w({ error: { desc: "QMP connection closed" } });
    }
  }

  #next(): Promise<QmpValue> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async command(execute: string, args?: QmpValue): Promise<unknown> {
    const reply = this.#next();
    await this.#conn.write(
      new TextEncoder().encode(
        JSON.stringify({ execute, arguments: args }) + "\n",
      ),
    );
    const r = await reply;
    if ("error" in r) {
      throw new QmpError(`${execute}: ${JSON.stringify(r.error)}`);
    }
    return r.return;
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#closed;
  }
}
