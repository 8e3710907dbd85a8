import assert from "node:assert/strict";
import { daxDevices, hostNames, loadTopology, parseTopology, TopologyError } from "./topology.ts";

Deno.test("every shipped topology loads and names its DAX devices", async () => {
  for (const name of ["default", "pmem", "cxl", "cxl-interleave", "bare"]) {
    const t = await loadTopology(name);
    assert.equal(t.name, name);
  }
  const d = daxDevices(await loadTopology("default"));
  assert.deepEqual(d.map((x) => [x.id, x.kind]), [["pmem0", "pmem"], [
    "region0",
    "cxl",
  ]]);
  assert.equal(
    daxDevices(await loadTopology("cxl-interleave"))[0].sizeMiB,
    1024,
  );
});

Deno.test("the multihost topology boots two guests on one shared NVDIMM backing file", async () => {
  const t = await loadTopology("multihost");
  assert.equal(t.hosts, 2);
  assert.deepEqual(hostNames(t), ["host-a", "host-b"]);
  assert.deepEqual(t.pmem.map((p) => [p.id, p.shared, p.backing]), [["pmem0", true, "../pmem0-shared.img"]]);
  assert.equal((await loadTopology("pmem")).hosts, 1);
  assert.deepEqual(hostNames(await loadTopology("pmem")), []);
});

Deno.test("an unknown topology name lists the known ones", async () => {
  await assert.rejects(
    () => loadTopology("nope"),
    /not found; use one of bare, cxl, cxl-interleave, default, multihost, pmem/,
  );
});

Deno.test("bad fields are refused with the field and the fix", () => {
  const bad: [unknown, RegExp][] = [
    [
      { name: "x", pmem: [{ id: "p0", sizeMiB: 1000, driver: "dax" }] },
      /driver "dax" is not one of device_dax, fsdev_dax/,
    ],
    [
      { name: "x", pmem: [{ id: "p0", sizeMiB: 33 }] },
      /sizeMiB 33 must be even and >= 64/,
    ],
    [{ name: "x", pmem: [{ id: "P0", sizeMiB: 64 }] }, /id "P0" must match/],
    [
      { name: "x", pmem: [{ id: "a", sizeMiB: 64 }, { id: "a", sizeMiB: 64 }] },
      /id "a" is used twice/,
    ],
    [{ pmem: [] }, /"name" must be a string/],
    [
      { name: "x", hosts: 2, pmem: [{ id: "p0", sizeMiB: 64 }] },
      /hosts 2: every pmem device must be "shared": true with a "backing" file \(p0 is not\)/,
    ],
    [{ name: "x", hosts: 2, pmem: [] }, /hosts 2: every pmem device must be "shared".*there is none/],
    [{ name: "x", hosts: 0 }, /hosts must be a positive integer, got 0/],
    [{ name: "x", hosts: 5 }, /hosts 5: at most 4/],
    [
      {
        name: "x",
        hosts: 2,
        pmem: [{ id: "p0", sizeMiB: 64, backing: "/s.img", shared: true }],
        cxl: { devices: [], regions: [] },
      },
      /only shared pmem is supported across hosts/,
    ],
    [
      { name: "x", pmem: [{ id: "p0", sizeMiB: 64, shared: true }] },
      /"shared": true needs a "backing" file/,
    ],
    [
      {
        name: "x",
        cxl: { devices: [{ id: "m0", sizeMiB: 300 }], regions: [] },
      },
      /sizeMiB 300 must be a multiple of 256/,
    ],
    [
      {
        name: "x",
        cxl: {
          devices: [{ id: "m0", sizeMiB: 256, hostBridge: 1 }],
          regions: [],
        },
      },
      /hostBridge 1 \/ rootPort 0 outside 1 bridge\(s\)/,
    ],
    [
      {
        name: "x",
        cxl: {
          devices: [{ id: "m0", sizeMiB: 256 }],
          regions: [{ id: "r", devices: ["m9"] }],
        },
      },
      /unknown device "m9"/,
    ],
    [
      {
        name: "x",
        cxl: {
          rootPortsPerBridge: 3,
          devices: [0, 1, 2].map((p) => ({
            id: `m${p}`,
            sizeMiB: 256,
            rootPort: p,
          })),
          regions: [{ id: "r", devices: ["m0", "m1", "m2"] }],
        },
      },
      /interleave ways must be 1, 2, 4 or 8/,
    ],
  ];
  for (const [raw, re] of bad) {
    assert.throws(
      () => parseTopology(raw, "t.json"),
      (e) => e instanceof TopologyError && re.test(e.message),
    );
  }
});
