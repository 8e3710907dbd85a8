import assert from "node:assert/strict";
import { gate } from "./gate.ts";
import { CONTRACTS } from "./profiles.ts";
import type { GuestFacts, KernelFacts } from "./suite.ts";

const guest = (n: number): GuestFacts => ({
  topology: "pmem",
  declared: [],
  devices: Array.from({ length: n }, (_, i) => ({
    id: `pm${i}`,
    kind: "pmem" as const,
    path: `/dev/dax${i}.0`,
    bytes: 1 << 30,
    driver: "device_dax" as const,
  })),
  findings: () => [],
});
const stock: KernelFacts = { description: "debian 7.3.4", flavour: "base", famfs: null };
const ref: KernelFacts = {
  description: "debian 7.3.4 + ref",
  flavour: "base",
  famfs: { profile: "ref", how: "test", contract: CONTRACTS.ref },
};

Deno.test("gate: famfs suites are not applicable on a kernel without famfs", () => {
  assert.deepEqual(gate({ famfs: true }, stock, guest(1)), {
    run: false,
    notApplicable: true,
    reason: "the kernel has no famfs support",
  });
  assert.deepEqual(gate({ famfs: true }, ref, guest(1)), { run: true });
  assert.deepEqual(gate({}, stock, guest(1)), { run: true });
});

Deno.test("gate: flavour and device count are skips that say why", () => {
  const g = gate({ flavour: "debug" }, ref, guest(1));
  assert.equal(g.run, false);
  assert.match(g.run ? "" : g.reason, /--flavour debug/);
  const d = gate({ devices: 2 }, ref, guest(1));
  assert.match(d.run ? "" : d.reason, /needs 2 DAX devices, topology pmem has 1/);
  assert.deepEqual(gate({ devices: 2 }, ref, guest(2)), { run: true });
});

Deno.test("gate: a suite needing two hosts is a skip on a single-host topology and runs on a shared one", () => {
  const g = gate({ hosts: 2 }, ref, guest(1));
  assert.equal(g.run, false);
  assert.equal(g.run ? true : g.notApplicable, false);
  assert.match(g.run ? "" : g.reason, /needs 2 hosts sharing memory, topology pmem has 1/);
  assert.deepEqual(gate({ hosts: 2 }, ref, { ...guest(1), topology: "multihost", hosts: 2 }), { run: true });
  assert.equal(gate({ hosts: 3 }, ref, { ...guest(1), hosts: 2 }).run, false);
});
