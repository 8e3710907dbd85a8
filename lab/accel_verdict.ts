// Whether QEMU's KVM accelerator works on this machine, judged from a short probe boot, and the
// per-machine cache of that verdict. Pure: the probe itself is in accel.ts.

export type Accel = "kvm" | "tcg";

export interface AccelVerdict {
  accel: Accel;
  /** One line: why this accelerator (shown when the lab falls back to TCG). */
  why: string;
}

/** What a probe boot under `-accel kvm` did before it ended. */
export interface ProbeOutcome {
  /** What the guest printed on its serial console. */
  console: string;
  stderr: string;
  /** QEMU's exit status; null when the probe stopped it (console seen, or time up). */
  exitCode: number | null;
  /** From QEMU's start to the first console output, or to the end of the probe. */
  ms: number;
  timeoutMs: number;
}

/** Console output = KVM runs guests; QEMU exiting or a silent guest = fall back to TCG. */
export function judgeProbe(o: ProbeOutcome): AccelVerdict {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (o.console.trim() !== "") {
    return { accel: "kvm", why: `a KVM probe boot printed on the console after ${secs(o.ms)}` };
  }
  if (o.exitCode !== null) {
    const lines = o.stderr.split("\n").map((l) => l.replace(/^qemu-system-\w+: /, "").trim()).filter(Boolean);
    const first = lines.find((l) => /error|fail|could not|cannot/i.test(l)) ?? lines[0] ?? "no message";
    return { accel: "tcg", why: `KVM unusable: QEMU exited with status ${o.exitCode} (${first})` };
  }
  return { accel: "tcg", why: `KVM unusable: a probe boot under KVM printed nothing in ${secs(o.timeoutMs)}` };
}

/** What a verdict holds for: this machine, its kernel and this QEMU. */
export interface ProbeHost {
  machineId: string;
  hostKernel: string;
  qemuVersion: string;
}

export const hostKey = (h: ProbeHost) => `${h.machineId} ${h.hostKernel} ${h.qemuVersion}`;

/** The accel cache file: one verdict per host key. */
export type AccelCache = Record<string, AccelVerdict & { probedAt: string }>;

export function parseAccelCache(text: string): AccelCache {
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return {};
    const out: AccelCache = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const r = v as Partial<AccelCache[string]>;
      if ((r.accel === "kvm" || r.accel === "tcg") && typeof r.why === "string" && typeof r.probedAt === "string") {
        out[k] = { accel: r.accel, why: r.why, probedAt: r.probedAt };
      }
    }
    return out;
  } catch {
    return {};
  }
}
