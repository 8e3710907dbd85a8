import { assert, assertEquals, assertRejects } from "./assert.ts";
import { Opcode } from "./abi.ts";
import { canMountFuse, writeFileFfi } from "./libc.ts";
import { ensureFusectl, FuseSession, isMounted } from "./session.ts";
import { HELLO } from "./testdata/hello_server.ts";

const canMount = canMountFuse();
const serverModule = new URL("./testdata/hello_server.ts", import.meta.url).href;

function mountHello(
  mnt: string,
  workers: number,
): { s: FuseSession; seen: number[] } {
  const s = FuseSession.mount({
    mountpoint: mnt,
    source: "hello",
    subtype: "hello",
    workers,
    maxWrite: 1 << 20,
    allowOther: false,
    defaultPermissions: false,
    serverModule,
    serverConfig: {},
  });
  const seen: number[] = [];
  s.onServerMessage = (m) => seen.push((m as { opcode: number }).opcode);
  return { s, seen };
}

Deno.test({
  name: canMount
    ? "session: mount, readdir, read, ENOENT, ENOSYS for unknown ops, unmount"
    : "session (skipped: needs root and /dev/fuse)",
  ignore: !canMount,
  async fn() {
    const mnt = await Deno.makeTempDir({ prefix: "fuse-core-" });
    const { s, seen } = mountHello(mnt, 3);
    const done = s.run();
    try {
      await s.initDone;
      assert(s.connectionId !== undefined);
      const names = [];
      for await (const e of Deno.readDir(mnt)) names.push(e.name);
      assertEquals(names, ["hello"]);
      assertEquals(
        await Deno.readTextFile(`${mnt}/hello`),
        new TextDecoder().decode(HELLO),
      );
      await assertRejects(
        () => Deno.stat(`${mnt}/missing`),
        Deno.errors.NotFound,
      );
      await assertRejects(() => Deno.mkdir(`${mnt}/d`));
      for (let i = 0; i < 100 && !seen.includes(Opcode.MKDIR); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert(seen.includes(Opcode.MKDIR), "MKDIR reached the server");
      assert(seen.includes(Opcode.READ), "READ reached the server");
    } finally {
      s.unmount();
      assertEquals(await done, "unmounted");
      assertEquals(isMounted(mnt), false);
      await Deno.remove(mnt);
    }
  },
});

Deno.test({
  name: canMount
    ? "session: survives a kernel abort and detaches"
    : "session abort (skipped: needs root and /dev/fuse)",
  ignore: !canMount,
  async fn() {
    const mnt = await Deno.makeTempDir({ prefix: "fuse-core-" });
    const { s } = mountHello(mnt, 2);
    const done = s.run();
    await s.initDone;
    await Deno.stat(`${mnt}/hello`);
    ensureFusectl();
    writeFileFfi(`/sys/fs/fuse/connections/${s.connectionId}/abort`, "1");
    assertEquals(await done, "aborted");
    assertEquals(isMounted(mnt), false);
    await Deno.remove(mnt);
  },
});
