import assert from "node:assert/strict";
import { hostKey, judgeProbe, parseAccelCache, type ProbeOutcome } from "./accel_verdict.ts";

const outcome = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`./testdata/accel/${name}.json`, import.meta.url))) as ProbeOutcome;

Deno.test("QEMU aborting at vCPU setup: TCG, with QEMU's own reason in one line", () => {
  assert.deepEqual(judgeProbe(outcome("msr-abort")), {
    accel: "tcg",
    why: "KVM unusable: QEMU exited with status 134 (error: failed to set MSR 0x10a to 0xc000069)",
  });
});

Deno.test("a KVM guest that prints nothing before the probe's time is up: TCG", () => {
  assert.deepEqual(judgeProbe(outcome("silent")), {
    accel: "tcg",
    why: "KVM unusable: a probe boot under KVM printed nothing in 10.0 s",
  });
});

Deno.test("console output: KVM, with the time it took", () => {
  const v = judgeProbe(outcome("console"));
  assert.equal(v.accel, "kvm");
  assert.equal(v.why, "a KVM probe boot printed on the console after 1.4 s");
});

Deno.test("console output wins even if QEMU then exited (e.g. the probe kernel panicked at once)", () => {
  assert.equal(judgeProbe({ ...outcome("console"), exitCode: 0 }).accel, "kvm");
});

Deno.test("the verdict cache keeps well-formed entries per machine, kernel and QEMU; junk reads as empty", () => {
  const key = hostKey({ machineId: "3d12", hostKernel: "6.18.44", qemuVersion: "QEMU emulator version 10.0.2" });
  const entry = { accel: "tcg", why: "KVM unusable: x", probedAt: "2026-11-29T22:41:00.000Z" };
  const text = JSON.stringify({ [key]: entry, other: { accel: "hvf", why: "?", probedAt: "?" } });
  assert.deepEqual(parseAccelCache(text), { [key]: entry });
  assert.deepEqual(parseAccelCache("{not json"), {});
  assert.deepEqual(parseAccelCache("[1]"), {});
  assert.notEqual(
    key,
    hostKey({ machineId: "3d12", hostKernel: "6.18.44", qemuVersion: "QEMU emulator version 10.1.0" }),
  );
});
