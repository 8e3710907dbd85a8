/**
 * The daemon on the build machine's own kernel FUSE (root): compat-mode
 * mount, walk, read/write, scenarios, request log, SIGTERM and abort,
 * refusal without the famfs INIT flag, fsck of corrupted images.
 */
import { assert, assertEquals } from "../fuse/assert.ts";
import { canMountFuse, writeFileFfi } from "../fuse/libc.ts";
import { ensureFusectl, isMounted } from "../fuse/session.ts";
import { imageSystemUuid, realImage, realYamlFiles, type YamlFile } from "./real_image_fixture.ts";
import { readRequestLog } from "./request_log.ts";
import { seededBytes } from "./seed.ts";

const canMount = canMountFuse();
const CLI = new URL("./cli.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
const PERMS = ["--allow-read", "--allow-write", "--allow-ffi", "--allow-env"];
const name = (s: string) => canMount ? s : `${s} (skipped: needs root and /dev/fuse)`;

async function cli(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(DENO, {
    args: ["run", ...PERMS, CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const td = new TextDecoder();
  return { code: o.code, out: td.decode(o.stdout), err: td.decode(o.stderr) };
}

interface Daemon {
  child: Deno.ChildProcess;
  mnt: string;
  status: Promise<{ code: number; out: string; err: string }>;
}

async function startDaemon(
  img: string,
  mnt: string,
  extra: string[] = [],
): Promise<Daemon> {
  const child = new Deno.Command(DENO, {
    args: ["run", ...PERMS, CLI, "mount", img, mnt, ...extra],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const td = new TextDecoder();
  let out = "";
  const reader = child.stdout.getReader();
  const errP = new Response(child.stderr).text();
  while (!out.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    out += td.decode(r.value);
  }
  const rest = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      out += td.decode(r.value);
    }
    const st = await child.status;
    return { code: st.code, out, err: await errP };
  })();
  return { child, mnt, status: rest };
}

async function withImage(
  fn: (dir: string, img: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "famfs-test-" });
  const img = `${dir}/img`;
  await Deno.writeFile(img, new Uint8Array());
  await Deno.truncate(img, 128 * 1024 * 1024);
  try {
    assertEquals((await cli("mkfs", img)).code, 0);
    await fn(dir, img);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: name(
    "daemon: compat mount, creat/verify, walk, cp, chmod, refused truncate, SIGTERM unmount",
  ),
  ignore: !canMount,
  async fn() {
    await withImage(async (dir, img) => {
      const mnt = `${dir}/mnt`;
      await Deno.mkdir(mnt);
      const d = await startDaemon(img, mnt, [
        "--compat",
        "--request-log",
        `${dir}/req.jsonl`,
        "--workers",
        "3",
      ]);
      try {
        assert(isMounted(mnt), "mounted");
        assertEquals(
          (await cli("creat", `${mnt}/a.bin`, "--size", "3m", "--seed", "5"))
            .code,
          0,
        );
        assertEquals((await cli("mkdir", `${mnt}/d`)).code, 0);
        const il = await cli(
          "creat",
          `${mnt}/d/i.bin`,
          "--size",
          "9m",
          "--seed",
          "6",
          "--interleave",
          "2:2m",
        );
        assertEquals(il.code, 0, il.err);
        assertEquals(
          (await cli("verify", `${mnt}/a.bin`, "--seed", "5")).code,
          0,
        );
        assertEquals(
          (await cli("verify", `${mnt}/d/i.bin`, "--seed", "6")).code,
          0,
        );
        assertEquals(
          (await cli("verify", `${mnt}/d/i.bin`, "--seed", "7")).code,
          1,
        );
        const part = await Deno.open(`${mnt}/d/i.bin`);
        await part.seek(4 * 1024 * 1024 + 3, Deno.SeekMode.Start);
        const buf = new Uint8Array(100);
        await part.read(buf);
        part.close();
        assertEquals(buf, seededBytes(6, 4 * 1024 * 1024 + 3, 100));
        await Deno.writeTextFile(`${dir}/src.txt`, "copied through famfs\n");
        assertEquals(
          (await cli("cp", `${dir}/src.txt`, `${mnt}/d/c.txt`)).code,
          0,
        );
        assertEquals(
          await Deno.readTextFile(`${mnt}/d/c.txt`),
          "copied through famfs\n",
        );
        const names: string[] = [];
        for await (const e of Deno.readDir(`${mnt}/d`)) names.push(e.name);
        assertEquals(names.sort(), ["c.txt", "i.bin"]);
        await Deno.chmod(`${mnt}/a.bin`, 0o600);
        assertEquals((await Deno.stat(`${mnt}/a.bin`)).mode! & 0o777, 0o600);
        let refused = false;
        try {
          await Deno.truncate(`${mnt}/a.bin`, 1);
        } catch {
          refused = true;
        }
        assert(refused, "size change refused");
        const ls = await cli("ls", img);
        assert(ls.out.includes("d/i.bin"), ls.out);
        assertEquals((await cli("fsck", img)).code, 0);
      } finally {
        d.child.kill("SIGTERM");
      }
      const st = await d.status;
      assertEquals(st.code, 0, st.err);
      assert(st.out.startsWith(`famfs: ready ${mnt}\n`), st.out);
      assertEquals(isMounted(mnt), false);
      const log = readRequestLog(await Deno.readTextFile(`${dir}/req.jsonl`));
      assert(log.some((r) => r.op === "INIT"), "INIT logged");
      assert(
        log.some((r) => r.op === "WRITE" && r.reply.error === 0),
        "WRITE logged",
      );
      assert(
        log.some((r) => r.op === "SETATTR" && r.reply.error === -1),
        "refused SETATTR logged",
      );
    });
  },
});

Deno.test({
  name: name(
    "daemon: scenario errors/short replies by opcode index, survives abort",
  ),
  ignore: !canMount,
  async fn() {
    await withImage(async (dir, img) => {
      const mnt = `${dir}/mnt`;
      await Deno.mkdir(mnt);
      await Deno.writeTextFile(
        `${dir}/s.json`,
        JSON.stringify({
          rules: [{ op: "LOOKUP", index: 0, error: "EACCES" }, {
            op: "STATFS",
            reply: "short",
            bytes: 8,
          }],
        }),
      );
      const d = await startDaemon(img, mnt, [
        "--compat",
        "--scenario",
        `${dir}/s.json`,
        "--request-log",
        `${dir}/r.jsonl`,
      ]);
      let conn = "";
      try {
        let first = "";
        try {
          await Deno.stat(`${mnt}/nothing`);
        } catch (e) {
          first = (e as Error).name;
        }
        assertEquals(first, "PermissionDenied");
        let second = "";
        try {
          await Deno.stat(`${mnt}/nothing2`);
        } catch (e) {
          second = (e as Error).name;
        }
        assertEquals(second, "NotFound");
        const df = await new Deno.Command("stat", {
          args: ["-f", mnt],
          stderr: "piped",
          stdout: "piped",
        }).output();
        assert(!df.success, "short STATFS reply makes statfs fail");
        conn = String((await Deno.stat(mnt)).dev);
      } finally {
        ensureFusectl();
        writeFileFfi(`/sys/fs/fuse/connections/${conn}/abort`, "1");
      }
      const st = await d.status;
      assertEquals(st.code, 0, st.err);
      assert(st.err.includes("aborted"), st.err);
      assertEquals(isMounted(mnt), false);
      const log = readRequestLog(await Deno.readTextFile(`${dir}/r.jsonl`));
      const lookups = log.filter((r) => r.op === "LOOKUP");
      assertEquals(lookups[0].reply.error, -13);
      assertEquals(lookups[0].rules, [0]);
    });
  },
});

Deno.test({
  name: name("daemon: refuses without the profile's INIT flag unless --compat"),
  ignore: !canMount,
  async fn() {
    await withImage(async (dir, img) => {
      const mnt = `${dir}/mnt`;
      await Deno.mkdir(mnt);
      const r = await cli("mount", img, mnt, "--profile", "ref");
      assertEquals(r.code, 2, r.err);
      assert(r.err.includes("INIT bit 44"), r.err);
      assertEquals(isMounted(mnt), false);
    });
  },
});

Deno.test({
  name: name("fsck and mount refuse corrupted images with the offset"),
  ignore: !canMount,
  async fn() {
    await withImage(async (dir, img) => {
      const f = await Deno.open(img, { read: true, write: true });
      await f.seek(20, Deno.SeekMode.Start);
      await f.write(new Uint8Array([0xee]));
      f.close();
      const r = await cli("fsck", img);
      assertEquals(r.code, 1);
      assert(r.out.includes("offset 0x60"), r.out);
      const mnt = `${dir}/mnt`;
      await Deno.mkdir(mnt);
      const m = await cli("mount", img, mnt, "--compat");
      assertEquals(m.code, 1);
      assert(m.err.includes("bad famfs superblock"), m.err);
      assertEquals(isMounted(mnt), false);
    });
  },
});

Deno.test({
  name: name("daemon: delayed reply cut short by FUSE_INTERRUPT; reply-then-crash leaves the mount to the caller"),
  ignore: !canMount,
  async fn() {
    await withImage(async (dir, img) => {
      const mnt = `${dir}/mnt`;
      await Deno.mkdir(mnt);
      await Deno.writeTextFile(
        `${dir}/s.json`,
        JSON.stringify({
          rules: [{ op: "LOOKUP", index: 0, delayMs: 20000 }, { op: "STATFS", index: 0, crashAfterReply: true }],
        }),
      );
      const d = await startDaemon(img, mnt, [
        "--compat",
        "--scenario",
        `${dir}/s.json`,
        "--request-log",
        `${dir}/r.jsonl`,
      ]);
      try {
        const stat = new Deno.Command("stat", { args: [`${mnt}/slow`], stdout: "null", stderr: "null" }).spawn();
        await new Promise((r) => setTimeout(r, 500));
        const t0 = Date.now();
        stat.kill("SIGINT");
        await stat.status;
        assert(Date.now() - t0 < 5000, "the interrupted LOOKUP did not wait for the 20 s delay");
        for (let i = 0; i < 100; i++) {
          const text = await Deno.readTextFile(`${dir}/r.jsonl`);
          if (readRequestLog(text).some((r) => r.op === "LOOKUP" && r.reply.error === -4)) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const log = readRequestLog(await Deno.readTextFile(`${dir}/r.jsonl`));
        assert(log.some((r) => r.op === "INTERRUPT"), "INTERRUPT logged");
        assert(log.some((r) => r.op === "LOOKUP" && r.reply.error === -4), "LOOKUP answered EINTR");
        await new Deno.Command("stat", { args: ["-f", mnt], stdout: "null", stderr: "null" }).output();
        const st = await d.status;
        assertEquals(st.code, 99, st.err);
        assert(isMounted(mnt), "a crashed daemon leaves its mount behind");
      } finally {
        if (isMounted(mnt)) {
          await new Deno.Command("umount", { args: ["-l", mnt] }).output();
        }
        try {
          d.child.kill("SIGKILL");
        } catch {
          // already exited
        }
      }
      assertEquals(isMounted(mnt), false);
    });
  },
});

/** Device offset of file byte `pos`, by the interleave rule (chunk n in strip n % N, at (n / N) * chunk). */
function yamlDeviceOffset(y: YamlFile, pos: number): number {
  if (!y.striped) return y.simple[0].offset + pos;
  const { nstrips, chunkSize, strips } = y.striped;
  const n = Math.floor(pos / chunkSize);
  return strips[n % nstrips].offset + Math.floor(n / nstrips) * chunkSize + (pos % chunkSize);
}

Deno.test({
  name: name(
    "daemon: serves the real famfs image as a client (YAML sizes, read-only, bytes at the YAML fmaps) and appends to it as master",
  ),
  ignore: !canMount,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "famfs-real-mount-" });
    try {
      const img = await realImage(dir);
      const files = await realYamlFiles();
      const dev = await Deno.open(img, { read: true, write: true });
      for (const [i, y] of files.entries()) {
        const CH = 64 * 1024; // < the 2 MiB chunk: each piece lies in one strip
        for (let pos = 0; pos < y.size; pos += CH) {
          await dev.seek(yamlDeviceOffset(y, pos), Deno.SeekMode.Start);
          await dev.write(seededBytes(100 + i, pos, Math.min(CH, y.size - pos)));
        }
      }
      dev.close();
      const mnt = `${dir}/mnt`;
      await Deno.mkdir(mnt);
      const client = await startDaemon(img, mnt, ["--compat", "--system-uuid", "00000000-0000-4000-8000-0000000000c1"]);
      try {
        for (const [i, y] of files.entries()) {
          const st = await Deno.stat(`${mnt}/${y.path}`);
          assertEquals(st.size, y.size, y.path);
          assertEquals(st.mode! & 0o222, 0, `${y.path}: a client's files have no write bits`);
          assertEquals((await cli("verify", `${mnt}/${y.path}`, "--seed", String(100 + i))).code, 0, y.path);
          let refused = false;
          try {
            (await Deno.open(`${mnt}/${y.path}`, { write: true })).close();
          } catch {
            refused = true;
          }
          assert(refused, `${y.path}: open for writing refused on a client`);
        }
        assert((await Deno.stat(`${mnt}/dir1/sub`)).isDirectory, "dir1/sub");
      } finally {
        client.child.kill("SIGTERM");
      }
      assertEquals((await client.status).code, 0);
      const uuid = await imageSystemUuid(img);
      const master = await startDaemon(img, mnt, ["--compat", "--system-uuid", uuid]);
      try {
        const r = await cli("creat", `${mnt}/dir1/sub/new.bin`, "--size", "5m", "--seed", "7", "--system-uuid", uuid);
        assertEquals(r.code, 0, r.err);
        assertEquals((await cli("verify", `${mnt}/dir1/sub/new.bin`, "--seed", "7")).code, 0);
      } finally {
        master.child.kill("SIGTERM");
      }
      assertEquals((await master.status).code, 0);
      const fsck = await cli("fsck", "--verbose", img);
      assertEquals(fsck.code, 0, fsck.out);
      assert(fsck.out.includes("file dir1/sub/new.bin 5242880 bytes"), fsck.out);
      assert(fsck.out.includes("3 files, 2 dirs"), fsck.out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
