/**
 * The famfs CLI on an image file, run as a user runs it (`deno task famfs ...`): fsck --verbose
 * lists the real famfs image's directories and files with sizes and extents, the system UUID
 * option makes it master or client, and bad input is one line with exit 2.
 */
import { assert, assertEquals } from "../fuse/assert.ts";
import { imageSystemUuid, realImage, realYamlFiles } from "./real_image_fixture.ts";
import { parseUuid, systemUuid } from "./system_uuid.ts";

const REPO = new URL("../..", import.meta.url).pathname;

async function famfsTask(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "famfs", ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const td = new TextDecoder();
  return { code: o.code, out: td.decode(o.stdout), err: td.decode(o.stderr) };
}

const hex = (n: number) => `0x${n.toString(16)}`;

Deno.test("cli: deno task famfs fsck --verbose IMAGE lists the real image's directories, files, sizes and extents", async () => {
  const dir = await Deno.makeTempDir({ prefix: "famfs-cli-" });
  try {
    const img = await realImage(dir);
    const r = await famfsTask("fsck", "--verbose", img);
    assertEquals(r.code, 0, r.err + r.out);
    const lines = r.out.trim().split("\n");
    assert(lines.some((l) => l.startsWith("dir  dir1 ")), r.out);
    assert(lines.some((l) => l.startsWith("dir  dir1/sub ")), r.out);
    for (const y of await realYamlFiles()) {
      const line = lines.find((l) => l.startsWith(`file ${y.path} `));
      assert(line !== undefined, `${y.path} listed:\n${r.out}`);
      assert(line.includes(` ${y.size} bytes `), line);
      assert(line.includes(` mode ${y.mode.toString(8).padStart(7, "0")} `), line);
      for (const x of y.striped?.strips ?? y.simple) {
        assert(line.includes(`[dev${x.devindex} ${hex(x.offset)}+${hex(x.len)}]`), line);
      }
      if (y.striped) assert(line.includes(`${y.striped.nstrips} strips x ${hex(y.striped.chunkSize)} chunks`), line);
    }
    assert(lines[lines.length - 1].includes("2 files, 2 dirs, 0 daxdev entries skipped"), r.out);
    assert(lines[lines.length - 1].endsWith(", 0 errors"), r.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --system-uuid makes this host the master or a client of the real image; a bad UUID is exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "famfs-cli-" });
  try {
    const img = await realImage(dir);
    const master = await famfsTask("logplay", "--system-uuid", await imageSystemUuid(img), img);
    assertEquals(master.code, 0, master.err);
    assert(master.out.includes("4 entries, 0 daxdev entries skipped, role master"), master.out);
    const client = await famfsTask("logplay", "--system-uuid", "00000000-0000-4000-8000-000000000002", img);
    assert(client.out.includes("role client"), client.out);
    const bad = await famfsTask("fsck", "--system-uuid", "not-a-uuid", img);
    assertEquals(bad.code, 2);
    assertEquals(bad.out, "");
    assertEquals(bad.err.trim().split("\n").length, 1, bad.err);
    assert(bad.err.includes('"not-a-uuid" is not a UUID'), bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("system uuid: option, then $FAMFS_SYSTEM_UUID, then the text file real famfs writes (36 chars + NUL)", async () => {
  const saved = Deno.env.get("FAMFS_SYSTEM_UUID");
  const dir = await Deno.makeTempDir({ prefix: "famfs-uuid-" });
  try {
    Deno.env.delete("FAMFS_SYSTEM_UUID");
    const file = `${dir}/system_uuid`;
    await Deno.writeTextFile(file, "3d1219c7-c4c5-404a-aa1f-6d2a48adfda4\0");
    const fromFile = systemUuid(undefined, file);
    assertEquals(fromFile.source, file);
    assertEquals(fromFile.uuid, parseUuid("3d1219c7c4c5404aaa1f6d2a48adfda4", "t"));
    assertEquals(fromFile.uuid[0], 0x3d);
    Deno.env.set("FAMFS_SYSTEM_UUID", "00000000-0000-4000-8000-000000000003");
    assertEquals(systemUuid(undefined, file).uuid[15], 3);
    assertEquals(systemUuid("00000000-0000-4000-8000-000000000004", file).uuid[15], 4);
  } finally {
    if (saved === undefined) Deno.env.delete("FAMFS_SYSTEM_UUID");
    else Deno.env.set("FAMFS_SYSTEM_UUID", saved);
    await Deno.remove(dir, { recursive: true });
  }
});
