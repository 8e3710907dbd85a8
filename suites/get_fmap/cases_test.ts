import assert from "node:assert/strict";
import { encodeFmap, FamfsFileType } from "../../src/famfs/fmap.ts";
import { encodeFmapSpec } from "../../src/famfs/scenario.ts";
import { CONTRACTS, type ProfileName } from "../contract/mod.ts";
import { areas, CASES, type Device, type Expectation, layoutOf, samples, writePlan } from "./cases.ts";

const MIB = 1024 * 1024;
// A device like the fixture's (1 GiB pmem): the areas allocated one after the other right after the log.
const device: Device = { areas: {}, logOffset: 2 * MIB, deviceBytes: 1024 * MIB };
const areaEnd = areas().reduce((at, a) => {
  device.areas[a.name] = at;
  return at + a.units * 2 * MIB;
}, 10 * MIB);
const PROFILES: ProfileName[] = ["ref", "v3", "rfc-v2"];
const REAL = { type: FamfsFileType.REG, size: 4096, fmap: { type: "simple" as const, extents: [] } };

function expectOf(file: string, p: ProfileName): Expectation {
  const c = CASES.find((x) => x.file === file);
  assert.ok(c, `case ${file}`);
  return c.expect(layoutOf(c, device), CONTRACTS[p]);
}

const verdict = (e: Expectation) =>
  e.kind === "refused" ? `refused ${e.errno}${e.deviation ? ` or ${e.deviation}` : ""}` : e.kind;

Deno.test("get_fmap cases: one file and one name each", () => {
  assert.equal(new Set(CASES.map((c) => c.file)).size, CASES.length);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
});

Deno.test("get_fmap cases: an accepted map is exactly the reply the daemon sends (wire encoding)", () => {
  for (const p of PROFILES) {
    for (const c of CASES) {
      const x = c.expect(layoutOf(c, device), CONTRACTS[p]);
      const e = x.kind === "aliasing" ? x.served : x;
      if (e.kind !== "accepted") continue;
      const sent = encodeFmapSpec(c.reply(layoutOf(c, device), CONTRACTS[p]), REAL);
      const judged = encodeFmap(FamfsFileType.REG, e.size, e.fmap);
      // file_type is the one header field a case may set to another accepted value.
      assert.deepEqual(sent.subarray(1), judged.subarray(1), `${p} ${c.file}`);
    }
  }
});

Deno.test("get_fmap cases: both sides of each limit, as each profile's contract says", () => {
  const table = Object.fromEntries(
    [
      "e-32",
      "e-33",
      "i-strips-32",
      "i-strips-33",
      "i-chunk-4096",
      "i-chunk-4095",
      "i-chunk-0",
      "e-offset-4k",
      "e-devindex-last",
      "e-devindex-limit",
      "h-len-page",
      "h-len-page-1",
      "h-version-2",
      "h-type-log",
      "h-type-3",
    ]
      .map((f) => [f, PROFILES.map((p) => verdict(expectOf(f, p)))]),
  );
  assert.deepEqual(table, {
    //                 ref                     v3                      rfc-v2
    "e-32": ["accepted", "accepted", "accepted"],
    "e-33": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "i-strips-32": ["accepted", "accepted", "accepted"],
    "i-strips-33": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "i-chunk-4096": ["accepted", "refused EINVAL", "accepted"],
    "i-chunk-4095": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "i-chunk-0": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "e-offset-4k": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "e-devindex-last": ["daxdev", "accepted", "daxdev"],
    "e-devindex-limit": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "h-len-page": ["refused EINVAL", "refused EINVAL", "refused EINVAL"],
    "h-len-page-1": ["refused EIO", "refused EIO", "refused EIO"],
    "h-version-2": Array(3).fill("refused EINVAL or fmap-version-unchecked"),
    "h-type-log": ["accepted", "accepted", "accepted"],
    "h-type-3": Array(3).fill("refused EINVAL or file-type-unchecked"),
  });
  const last = expectOf("e-devindex-last", "ref");
  assert.equal(last.kind === "daxdev" && last.devindex, 23);
});

Deno.test("get_fmap cases: replies whose length is not header + extents are cut or padded as asked", () => {
  const len = (f: string) => {
    const c = CASES.find((x) => x.file === f)!;
    return encodeFmapSpec(c.reply(layoutOf(c, device), CONTRACTS.ref), REAL).length;
  };
  assert.deepEqual(
    ["h-valid", "h-len-header", "h-len-1", "h-len-plus-1", "h-len-page", "h-len-page-1"].map(len),
    [80, 32, 1, 81, 4096, 4097],
  );
});

Deno.test("get_fmap cases: an accepted map reaches its own area only (or the superblock or log)", () => {
  const own = (file: string) => {
    const l = layoutOf(CASES.find((c) => c.file === file)!, device);
    return [l.donor, l.donor + l.units * 2 * MIB];
  };
  for (const p of PROFILES) {
    for (const c of CASES) {
      const x = c.expect(layoutOf(c, device), CONTRACTS[p]);
      const e = x.kind === "aliasing" ? x.served : x;
      if (e.kind !== "accepted") continue;
      const ext = e.fmap.type === "simple" ? e.fmap.extents : e.fmap.iext.flatMap((ie) => ie.strips);
      const [from, to] = c.file === "x-superblock"
        ? [0, 2 * MIB]
        : c.file === "x-log"
        ? [2 * MIB, 10 * MIB]
        : own(c.file);
      assert.ok(
        c.units || c.sharesWith || ext.length === 0 || c.group === "hostile",
        `${p} ${c.file}: an area of its own`,
      );
      for (const x of ext) {
        assert.ok(x.offset >= from && x.offset + x.len <= to, `${p} ${c.file}: ${x.offset}+${x.len}`);
      }
      // Within one file no two extents share a unit either, unless that is the case.
      const starts = ext.map((x) => x.offset);
      if (x.kind === "accepted") {
        assert.equal(new Set(starts).size, starts.length, `${p} ${c.file}: extents on distinct units`);
      }
    }
  }
});

Deno.test("get_fmap cases: a map that may be served names memory no earlier served map names, or is aliasing", () => {
  // The daemon's .meta files map the superblock and log; the cases' files are opened in table order.
  const meta = { file: ".meta", ranges: [[0, 10 * MIB]] };
  for (const p of PROFILES) {
    const served = [meta];
    for (const c of CASES) {
      const x = c.expect(layoutOf(c, device), CONTRACTS[p]);
      const e = x.kind === "aliasing" ? x.served : x;
      if (e.kind !== "accepted") continue;
      const ext = e.fmap.type === "simple" ? e.fmap.extents : e.fmap.iext.flatMap((ie) => ie.strips);
      const ranges = ext.map((r) => [r.offset, r.offset + r.len]);
      const overlaps = (a: number[][], b: number[][], self: boolean) =>
        a.some((r, i) => b.some((q, j) => (!self || j > i) && r[0] < q[1] && q[0] < r[1]));
      const hit = served.filter((f) => overlaps(ranges, f.ranges, false)).map((f) => f.file);
      if (overlaps(ranges, ranges, true)) hit.push(c.file);
      assert.equal(hit.length > 0, x.kind === "aliasing", `${p} ${c.file}: aliases ${hit.join(", ") || "nothing"}`);
      served.push({ file: c.file, ranges });
    }
  }
});

Deno.test("get_fmap cases: every write of the write check has device bytes of its own, inside the snapshot", () => {
  for (const p of PROFILES) {
    const plan = writePlan(device, CONTRACTS[p], "/mnt");
    assert.ok(plan.length >= 8, `${p}: ${plan.length} maps written`);
    const owner = new Map<number, string>();
    for (const { c, dev } of plan) {
      for (const w of dev) {
        assert.ok(w.devOff + w.len <= areaEnd, `${p} ${c.file}: write at ${w.devOff}`);
        for (let b = w.devOff; b < w.devOff + w.len; b++) {
          assert.equal(owner.get(b) ?? c.file, c.file, `${p}: device byte ${b} written by two maps`);
          owner.set(b, c.file);
        }
      }
      assert.equal(dev.reduce((a, w) => a + w.len, 0), 128, `${p} ${c.file}: both writes resolved`);
    }
  }
});

Deno.test("get_fmap cases: samples follow the interleave (chunk k in strip k mod nstrips)", () => {
  const U = 2 * MIB;
  const fmap = {
    type: "interleave" as const,
    iext: [{
      nstrips: 2,
      chunkSize: 4096,
      nbytes: 3 * 4096 + 5,
      strips: [
        { devindex: 0, offset: 10 * U, len: U },
        { devindex: 0, offset: 20 * U, len: U },
      ],
    }],
  };
  assert.deepEqual(samples(fmap, 3 * 4096 + 5), [
    { fileOff: 0, devOff: 10 * U, len: 4096 },
    { fileOff: 4096, devOff: 20 * U, len: 4096 },
    { fileOff: 8192, devOff: 10 * U + 4096, len: 4096 },
    { fileOff: 12288, devOff: 20 * U + 4096, len: 5 },
  ]);
});
