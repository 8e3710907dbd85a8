// Smoke: the guest booted with every DAX device of its topology usable, FUSE available,
// Deno runnable from the host root, and a clean kernel log.
import assert from "node:assert/strict";
import { defineSuite, must, skip } from "../contract/mod.ts";

export const suite = defineSuite<void>({
  name: "smoke",
  description: "guest boots with its DAX devices, FUSE and Deno usable, kernel log clean",
  needs: {},
  tests: [
    {
      name: "dax-devices-present",
      async run(ctx) {
        const { declared, devices } = ctx.guest;
        assert.deepEqual(
          devices.map((d) => d.id).sort(),
          declared.map((d) => d.id).sort(),
          "devices set up by the guest",
        );
        for (const w of declared) {
          const got = devices.find((d) => d.id === w.id)!;
          const name = got.path.replace("/dev/", "");
          const driver = (await must(ctx, `basename "$(readlink -f /sys/bus/dax/devices/${name}/driver)"`)).trim();
          assert.equal(driver, w.driver, `${w.id} (${got.path}) bound to ${w.driver}`);
          // devdax keeps a little of a pmem namespace for its own metadata.
          assert.ok(got.bytes >= w.sizeMiB * 1024 * 1024 * 0.9, `${w.id} size ${got.bytes} vs ${w.sizeMiB} MiB`);
          if (w.driver === "device_dax") await must(ctx, `test -c ${got.path}`);
        }
        ctx.record({ devices });
      },
    },
    {
      name: "devdax-mmap-roundtrip",
      timeoutMs: 30_000,
      async run(ctx) {
        const usable = ctx.guest.devices.filter((d) => d.driver === "device_dax");
        if (usable.length === 0) return skip("no device in device_dax mode in this topology");
        const probe = `${ctx.repo}/suites/smoke/dax_probe.ts`;
        for (const d of usable) {
          const out = await must(ctx, `${ctx.deno} run --allow-ffi --allow-read ${probe} ${d.path} ${d.bytes}`);
          const seen = JSON.parse(out.trim().split("\n").pop()!) as { mismatches: number[] };
          assert.deepEqual(seen.mismatches, [], `${d.path}: bytes written through one mapping seen through another`);
        }
      },
    },
    {
      name: "fuse-available",
      async run(ctx) {
        await must(ctx, "test -c /dev/fuse && grep -q fusectl /proc/mounts");
      },
    },
    {
      name: "kernel-log-clean",
      run(ctx) {
        // The lab's console watch classifies every kernel message since boot.
        const reports = ctx.guest.findings().map((f) => `${f.kind}: ${f.firstLine}`);
        assert.deepEqual(reports, [], "kernel reports since boot");
        return Promise.resolve();
      },
    },
  ],
});
