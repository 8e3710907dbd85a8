/** The image made by the real famfs code (testdata/famfs-real/) and its YAML file descriptions, for tests. */
import { assert, assertEquals } from "../fuse/assert.ts";
import type { SimpleExtent } from "./log.ts";
import type { Listed } from "./fsck.ts";
import { uuidToString } from "./superblock.ts";

const DATA = new URL("./testdata/famfs-real/", import.meta.url);

/** Writes the 10 MiB of real metadata into a fresh 1 GiB sparse file; returns its path. */
export async function realImage(dir: string): Promise<string> {
  const img = `${dir}/real.img`;
  const gz = await Deno.open(new URL("famfs-v48-1g-meta.img.gz", DATA));
  const out = await Deno.open(img, { write: true, create: true, truncate: true });
  await gz.readable.pipeThrough(new DecompressionStream("gzip")).pipeTo(out.writable);
  await Deno.truncate(img, 1 << 30);
  return img;
}

/** The superblock's system UUID, read straight from bytes 80..95 of the image. */
export async function imageSystemUuid(img: string): Promise<string> {
  const f = await Deno.open(img);
  try {
    const b = new Uint8Array(96);
    await f.read(b);
    return uuidToString(b.subarray(80, 96));
  } finally {
    f.close();
  }
}

/** What a real famfs shadow YAML says about one file (only the keys these files use). */
export interface YamlFile {
  path: string;
  size: number;
  flags: number;
  mode: number;
  uid: number;
  gid: number;
  simple: SimpleExtent[];
  striped?: { nstrips: number; chunkSize: number; strips: SimpleExtent[] };
}

export function parseShadowYaml(text: string): YamlFile {
  const f: YamlFile = { path: "", size: -1, flags: -1, mode: -1, uid: -1, gid: -1, simple: [] };
  let list = f.simple;
  for (const line of text.split("\n")) {
    const m = /^\s*(- )?(\w+):\s*(\S*)\s*$/.exec(line);
    if (!m) continue;
    const [, item, key, value] = m;
    const num = () => value.startsWith("0x") ? Number(value) : parseInt(value, value.startsWith("0") ? 8 : 10);
    if (key === "path") f.path = value;
    else if (key === "size" || key === "flags" || key === "uid" || key === "gid" || key === "mode") f[key] = num();
    else if (key === "nstrips") f.striped = { nstrips: num(), chunkSize: 0, strips: [] };
    else if (key === "chunk_size") f.striped!.chunkSize = num();
    else if (key === "simple_ext_list" && f.striped) list = f.striped.strips;
    else if (key === "devindex" && item) list.push({ devindex: num(), offset: -1, len: -1 });
    else if (key === "offset") list[list.length - 1].offset = num();
    else if (key === "length") list[list.length - 1].len = num();
  }
  return f;
}

export async function realYamlFiles(): Promise<YamlFile[]> {
  return await Promise.all(
    ["dir1-simple.bin.yaml", "striped.bin.yaml"].map(async (n) =>
      parseShadowYaml(await Deno.readTextFile(new URL(n, DATA)))
    ),
  );
}

/** Asserts that `listing` holds exactly the YAML files (size, mode, owner, fmap) plus their directories. */
export function assertMatchesYaml(listing: Listed[], files: YamlFile[]): void {
  const got = listing.filter((l) => l.kind === "file");
  assertEquals(got.map((l) => l.path).sort(), files.map((f) => f.path).sort());
  for (const y of files) {
    const l = got.find((x) => x.path === y.path)!;
    assertEquals([l.size, l.mode, l.uid, l.gid], [y.size, y.mode, y.uid, y.gid], y.path);
    if (y.striped) {
      assert(l.fmap?.type === "interleave", `${y.path} is interleaved`);
      assertEquals(l.fmap.iext, [{ ...y.striped, nbytes: y.size }], y.path);
    } else {
      assertEquals(l.fmap, { type: "simple", extents: y.simple }, y.path);
    }
  }
  const parents = new Set(
    files.flatMap((f) => f.path.split("/").slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join("/"))),
  );
  for (const p of parents) assert(listing.some((l) => l.kind === "dir" && l.path === p), `directory ${p} listed`);
}
