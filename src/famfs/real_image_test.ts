/**
 * An image made by the real famfs code (testdata/famfs-real/): our fsck, logplay and namespace
 * listing read it as a client and as the master, and rebuild exactly the files and fmaps that the
 * real tool's own YAML descriptions state. The master appends to it where real famfs would.
 */
import { assert, assertEquals } from "../fuse/assert.ts";
import { LOG_ENTRY_SIZE, LOG_HEADER_SIZE } from "./log.ts";
import { fsck, openMeta } from "./mod.ts";
import { assertMatchesYaml, imageSystemUuid, realImage, realYamlFiles } from "./real_image_fixture.ts";

const CLIENT_UUID = "00000000-0000-4000-8000-0000000000c1";

async function withRealImage(fn: (img: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "famfs-real-" });
  try {
    await fn(await realImage(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("real image: the YAML parser reads what the files say", async () => {
  const [simple, striped] = await realYamlFiles();
  assertEquals(simple.path, "dir1/simple.bin");
  assertEquals(simple.simple.length, 1);
  assertEquals(striped.striped?.strips.length, 4);
  assert(striped.striped!.strips.every((s) => s.offset > 0 && s.len > 0), "strips parsed");
});

Deno.test("real image: fsck, logplay and listing as a client rebuild the YAML's files and fmaps", async () => {
  const files = await realYamlFiles();
  await withRealImage((img) => {
    const r = fsck(img, { systemUuid: CLIENT_UUID });
    assertEquals(r.errors, []);
    assertEquals(r.role, "client");
    assertEquals([r.files, r.dirs, r.daxdevs], [2, 2, 0]);
    assertMatchesYaml(r.listing, files);
    assertEquals(r.listing.filter((l) => l.kind === "dir").map((l) => l.path), ["dir1", "dir1/sub"]);
    const m = openMeta(img, { systemUuid: CLIENT_UUID, readOnly: true });
    try {
      assertEquals(m.role, "client");
      assertEquals(m.replay.header.lastIndex, 15419);
      assertEquals(m.replay.entries.map((e) => [e.index, e.entry.kind, e.entry.path]), [
        [0, "mkdir", "dir1"],
        [1, "mkdir", "dir1/sub"],
        [2, "file", "dir1/simple.bin"],
        [3, "file", "striped.bin"],
      ]);
      for (const y of files) {
        const e = m.replay.entries.find((x) => x.entry.path === y.path)!.entry;
        assert(e.kind === "file");
        assertEquals(e.flags, y.flags, `${y.path} flags`);
      }
      let refused = "";
      try {
        m.append({ kind: "mkdir", uid: 0, gid: 0, mode: 0o755, path: "x" });
      } catch (e) {
        refused = (e as Error).message;
      }
      assert(refused.includes("read-only") || refused.includes("client"), refused);
    } finally {
      m.close();
    }
  });
});

Deno.test("real image: as the master (system uuid set to the superblock's) it reads the same and appends after entry 3", async () => {
  const files = await realYamlFiles();
  await withRealImage(async (img) => {
    const master = await imageSystemUuid(img);
    const r = fsck(img, { systemUuid: master });
    assertEquals(r.role, "master");
    assertEquals(r.errors, []);
    assertMatchesYaml(r.listing, files);
    const m = openMeta(img, { systemUuid: master });
    try {
      assertEquals(m.append({ kind: "mkdir", uid: 0, gid: 0, mode: 0o755, path: "dir1/new" }), 4);
      const at = LOG_HEADER_SIZE + 4 * LOG_ENTRY_SIZE;
      assertEquals(new TextDecoder().decode(m.log.subarray(at + 28, at + 36)), "dir1/new");
      const h = new DataView(m.log.buffer, m.log.byteOffset);
      assertEquals([h.getBigUint64(32, true), h.getBigUint64(40, true)], [5n, 5n]);
    } finally {
      m.close();
    }
    const after = fsck(img, { systemUuid: CLIENT_UUID });
    assertEquals(after.errors, []);
    assertEquals(after.listing.filter((l) => l.kind === "dir").map((l) => l.path), ["dir1", "dir1/sub", "dir1/new"]);
    assertMatchesYaml(after.listing, files);
  });
});
