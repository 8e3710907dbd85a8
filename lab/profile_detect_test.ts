import assert from "node:assert/strict";
import { detectProfile, ProfileDetectError, readNumbers } from "./profile_detect.ts";

const data = (p: string) => Deno.readTextFileSync(new URL(`./testdata/profile/${p}`, import.meta.url));
const WHERE = "the built tree /x";

Deno.test("stock 7.3: no famfs support, named once with the protocol minor", () => {
  const d = detectProfile(data("stock/fuse.h"), data("stock/config"), WHERE);
  assert.equal(d.profile, null);
  assert.match(d.how, /^no famfs support: include\/uapi\/linux\/fuse.h of the built tree \/x defines no FUSE_GET_FMAP/);
  assert.match(d.how, /protocol 7\.46/);
});

Deno.test("the ref series' built tree: ref, with the numbers it was read from", () => {
  const d = detectProfile(data("ref/fuse.h"), data("ref/config"), WHERE);
  assert.equal(d.profile, "ref");
  assert.equal(
    d.how,
    "detected from include/uapi/linux/fuse.h of the built tree /x: GET_FMAP=54 GET_DAXDEV=55 FUSE_DAX_FMAP=bit 44 " +
      "minor 47; .config: CONFIG_FUSE_FAMFS_DAX=y CONFIG_FUSE_IO_URING=off",
  );
});

Deno.test("V3..V10 numbers with FUSE io_uring off: v3, the shared bit 43 explained", () => {
  const d = detectProfile(data("v3/fuse.h"), data("v3/config"), WHERE);
  assert.equal(d.profile, "v3");
  assert.match(d.how, /GET_FMAP=54 GET_DAXDEV=55 FUSE_DAX_FMAP=bit 43 minor 46/);
  assert.match(
    d.how,
    /bit 43 is also FUSE_HAS_IO_URING_BUFPOOL \(offered only with CONFIG_FUSE_IO_URING, which is off\)/,
  );
});

Deno.test("V3..V10 numbers with FUSE io_uring on: an ambiguity error, not a guess", () => {
  assert.throws(
    () => detectProfile(data("v3/fuse.h"), data("ambiguous/config"), WHERE),
    (e: unknown) => {
      assert.ok(e instanceof ProfileDetectError);
      assert.equal(e.kind, "ambiguous");
      assert.match(e.message, /FUSE_DAX_FMAP and FUSE_HAS_IO_URING_BUFPOOL are both bit 43/);
      assert.match(e.message, /--profile v3/);
      return true;
    },
  );
});

Deno.test("the ref numbers with FUSE io_uring on are not ambiguous (bit 44 is famfs alone)", () => {
  assert.equal(detectProfile(data("ref/fuse.h"), data("ambiguous/config"), WHERE).profile, "ref");
});

Deno.test("famfs numbers but CONFIG_FUSE_FAMFS_DAX off: no famfs support, saying why", () => {
  const d = detectProfile(data("ref/fuse.h"), data("stock/config"), WHERE);
  assert.equal(d.profile, null);
  assert.match(d.how, /carries the ref numbers but CONFIG_FUSE_FAMFS_DAX is off/);
});

Deno.test("rfc-v2 numbers on 7.3: rfc-v2, with the opcode and flag they share with mainline named", () => {
  const n = readNumbers(data("rfc-v2/fuse.h"), data("rfc-v2/config"));
  assert.deepEqual([n.getFmap, n.getDaxdev, n.daxFmapBit, n.minor], [53, 54, 42, 46]);
  const d = detectProfile(data("rfc-v2/fuse.h"), data("rfc-v2/config"), WHERE);
  assert.equal(d.profile, "rfc-v2");
  assert.match(d.how, /bit 42 is also FUSE_REQUEST_TIMEOUT/);
  assert.match(d.how, /opcode FUSE_COPY_FILE_RANGE_64 = 53 \(as FUSE_GET_FMAP\)/);
});

Deno.test("numbers no profile has, or only part of them: an error naming them", () => {
  const odd = data("ref/fuse.h").replace(/FUSE_DAX_FMAP\t\t\(1ULL << 44\)/, "FUSE_DAX_FMAP\t\t(1ULL << 45)");
  assert.throws(() => detectProfile(odd, data("ref/config"), WHERE), /bit 45 minor 47 match no known profile/);
  const part = data("stock/fuse.h").replace(/FUSE_COPY_FILE_RANGE_64\t= 53,/, "$&\n\tFUSE_GET_FMAP = 54,");
  assert.throws(
    () => detectProfile(part, data("stock/config"), WHERE),
    (e: unknown) =>
      e instanceof ProfileDetectError && e.kind === "incomplete" && /GET_FMAP=54 GET_DAXDEV=\?/.test(e.message),
  );
  assert.throws(() => detectProfile("int x;", "", WHERE), /defines no FUSE_KERNEL_MINOR_VERSION/);
});
