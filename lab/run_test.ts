import assert from "node:assert/strict";
import { hostLayout, suitesForHosts } from "./run.ts";
import { loadTopology } from "./topology.ts";
import { SUITES } from "../suites/index.ts";

Deno.test("a multi-host topology boots host-a and host-b in folders of their own beside the shared backing file", async () => {
  const multi = hostLayout(await loadTopology("multihost"), "/rep/run1/multihost");
  assert.deepEqual(multi, {
    dirs: ["/rep/run1/multihost/host-a", "/rep/run1/multihost/host-b"],
    sharedScratch: ["/rep/run1/multihost/pmem0-shared.img"],
  });
  assert.deepEqual(hostLayout(await loadTopology("pmem"), "/rep/run1/pmem"), {
    dirs: ["/rep/run1/pmem"],
    sharedScratch: [],
  });
});

Deno.test("multi-host suites run only on multi-host topologies, and those run nothing else", async () => {
  const names = async (t: string) => suitesForHosts(await loadTopology(t), SUITES).map((s) => s.name);
  assert.deepEqual(await names("multihost"), ["multihost"]);
  const single = await names("pmem");
  assert.ok(!single.includes("multihost"));
  assert.deepEqual(single, SUITES.filter((s) => s.name !== "multihost").map((s) => s.name));
});
