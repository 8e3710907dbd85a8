// SSH to a guest with npm ssh2: this run's key, this run's guest host key, nothing else trusted.
import { Buffer } from "node:buffer";
import ssh2 from "ssh2";

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export class SshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SshError";
  }
}

export interface SshTarget {
  port: number;
  privateKey: string;
  /** The guest's host public key line ("ssh-ed25519 AAAA... comment"). */
  hostPublicKey: string;
}

export class GuestShell {
  private constructor(private client: ssh2.Client) {}

  static connect(t: SshTarget, timeoutMs: number): Promise<GuestShell> {
    const expected = Buffer.from(
      t.hostPublicKey.trim().split(/\s+/)[1],
      "base64",
    );
    return new Promise((resolve, reject) => {
      const c = new ssh2.Client();
      c.on("ready", () => resolve(new GuestShell(c)));
      c.on(
        "error",
        (e: Error) => reject(new SshError(`ssh 127.0.0.1:${t.port}: ${e.message}`)),
      );
      c.connect({
        host: "127.0.0.1",
        port: t.port,
        username: "root",
        privateKey: t.privateKey,
        readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer) => expected.equals(key),
      });
    });
  }

  /** Retries until sshd accepts this run's key, or the deadline passes. */
  static async whenReady(
    t: SshTarget,
    timeoutMs: number,
    alive: () => boolean,
  ): Promise<GuestShell> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline && alive()) {
      try {
        // "ready" comes after authentication: a command would only cost another round trip.
        return await GuestShell.connect(
          t,
          Math.max(1000, deadline - Date.now()),
        );
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new SshError(
      `guest sshd not ready after ${timeoutMs} ms (${alive() ? last : "QEMU exited"})`,
    );
  }

  /** Runs a command; output is collected whole (suites print little) and optionally streamed. */
  exec(
    command: string,
    opts: {
      timeoutMs?: number;
      onOutput?: (s: string) => void;
      stdin?: string;
      /** Closes the channel (the guest's sshd hangs up on the command) when aborted. */
      signal?: AbortSignal;
    } = {},
  ): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(
        command,
        (err: Error | undefined, ch: ssh2.ClientChannel) => {
          if (err) {
            return reject(new SshError(`exec ${command}: ${err.message}`));
          }
          let stdout = "", stderr = "";
          const onAbort = () => {
            clearTimeout(timer);
            ch.close();
            reject(new SshError(`'${command}' stopped: ${String(opts.signal?.reason ?? "aborted")}`));
          };
          const timer = opts.timeoutMs
            ? setTimeout(() => {
              ch.close();
              reject(
                new SshError(
                  `'${command}' did not finish within ${opts.timeoutMs} ms`,
                ),
              );
            }, opts.timeoutMs)
            : undefined;
          ch.on("data", (d: Buffer) => {
            stdout += d.toString();
            opts.onOutput?.(d.toString());
          });
          ch.stderr.on("data", (d: Buffer) => {
            stderr += d.toString();
            opts.onOutput?.(d.toString());
          });
          let code: number | null = null, signal: string | null = null;
          ch.on("exit", (c: number | null, s?: string) => {
            code = c;
            signal = s ?? null;
          });
          if (opts.signal?.aborted) return onAbort();
          opts.signal?.addEventListener("abort", onAbort, { once: true });
          ch.on("close", () => {
            opts.signal?.removeEventListener("abort", onAbort);
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
          });
          if (opts.stdin !== undefined) ch.end(opts.stdin);
        },
      );
    });
  }

  close(): void {
    this.client.end();
  }
}
