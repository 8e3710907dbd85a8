// The suites' profile contracts (suites/contract/profiles.ts) and the daemon's wire profiles
// (src/famfs/profiles.ts) state the same protocol facts twice, once per layer (neither may import
// the other); this checks they agree with each other and with docs/famfs-protocol.md's table.
import assert from "node:assert/strict";
import { CONTRACTS, type ProfileName } from "../suites/contract/profiles.ts";
import { FMAP_MAX_EXTENTS, FMAP_MAX_STRIPS, MAX_DAXDEVS, PROFILES } from "../src/famfs/profiles.ts";

/** docs/famfs-protocol.md, "Protocol profiles": extent rules, reply size, raced slot. */
const DOC: Record<ProfileName, { devindexLimit: number; replyMax: number; raced: "EALREADY" | "ok" }> = {
  "rfc-v2": { devindexLimit: 24, replyMax: 32768, raced: "EALREADY" },
  v3: { devindexLimit: 1, replyMax: 4096, raced: "ok" },
  ref: { devindexLimit: 24, replyMax: 4096, raced: "ok" },
};

for (const name of Object.keys(CONTRACTS) as ProfileName[]) {
  Deno.test(`profile ${name}: the suites' contract, the daemon's wire profile and the protocol doc agree`, () => {
    const c = CONTRACTS[name], w = PROFILES[name], d = DOC[name];
    assert.equal(c.profile, w.name);
    assert.equal(c.fmapDevindexLimit, w.devindexMustBeZero ? 1 : MAX_DAXDEVS);
    assert.equal(c.fmapDevindexLimit, d.devindexLimit);
    assert.equal(c.daxdevSlots, MAX_DAXDEVS);
    assert.equal(c.fmapReplyMax, w.fmapReplyMax);
    assert.equal(c.fmapReplyMax, d.replyMax);
    assert.equal(c.racedSlot, d.raced);
    assert.equal(c.extentAlign, w.aligned2M ? 2 * 1024 * 1024 : 4096);
    assert.equal(c.fmap.maxExtents, FMAP_MAX_EXTENTS);
    assert.equal(c.fmap.maxStrips, FMAP_MAX_STRIPS);
  });
}
