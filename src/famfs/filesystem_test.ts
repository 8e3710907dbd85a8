/**
 * The famfs server's famfs-mode paths (GET_FMAP, GET_DAXDEV, INIT flag
 * negotiation, scenarios), driven in-process through the request loop with
 * hand-built kernel messages; replies are checked byte-exactly.
 */
import { assert, assertEquals } from "../fuse/assert.ts";
import { Errno, Opcode, OpenFlag } from "../fuse/abi.ts";
import { encodeGetxattrOut, encodeInHeader, encodeInitIn, encodeOpenOut } from "../fuse/codec.ts";
import { InterruptTable, type LoopEvent, RequestLoop } from "../fuse/loop.ts";
import type { Reply } from "../fuse/server.ts";
import { createServer, type FamfsServerConfig, Shared } from "./filesystem.ts";
import { encodeDaxdevOut, encodeFmap, FamfsFileType } from "./fmap.ts";
import { appendLogEntry, encodeLogHeader, type Fmap, lastIndexFor, type SimpleExtent } from "./log.ts";
import { type ProfileName, PROFILES } from "./profiles.ts";
import { encodeFmapSpec, type Scenario } from "./scenario.ts";

const M2 = 0x200000;
const LOG_LEN = 8 * 1024 * 1024;
const DEV = 512 * 1024 * 1024;
const FILE_FMAP: Fmap = {
  type: "simple",
  extents: [{ devindex: 0, offset: 6 * M2, len: 2 * M2 }],
};
const IL_FMAP: Fmap = {
  type: "interleave",
  iext: [{
    nstrips: 2,
    chunkSize: M2,
    nbytes: 8 * M2,
    strips: [{ devindex: 0, offset: 10 * M2, len: 4 * M2 }, {
      devindex: 0,
      offset: 20 * M2,
      len: 4 * M2,
    }],
  }],
};

function setup(profile: ProfileName, scenario?: Scenario, role: "master" | "client" = "master") {
  const log = new Uint8Array(LOG_LEN);
  log.set(
    encodeLogHeader({
      len: LOG_LEN,
      lastIndex: lastIndexFor(LOG_LEN),
      nextSeqnum: 0,
      nextIndex: 0,
    }),
  );
  const file = { flags: 2, uid: 0, gid: 0, mode: 0o644 };
  appendLogEntry(log, M2, LOG_LEN, {
    kind: "file",
    ...file,
    size: 3 * 1024 * 1024,
    path: "a",
    fmap: FILE_FMAP,
  });
  appendLogEntry(log, M2, LOG_LEN, {
    kind: "file",
    ...file,
    size: 8 * M2,
    path: "il",
    fmap: IL_FMAP,
  });
  const shared = new SharedArrayBuffer(Shared.bytes());
  const slots = new BigInt64Array(shared, 0, 8);
  slots[Shared.DEV_SIZE] = BigInt(DEV);
  slots[Shared.LOG_OFFSET] = BigInt(M2);
  slots[Shared.LOG_LEN] = BigInt(LOG_LEN);
  slots[Shared.CLIENT] = role === "client" ? 1n : 0n;
  slots[Shared.LOG_PTR] = BigInt(
    Deno.UnsafePointer.value(Deno.UnsafePointer.of(log)),
  );
  const cfg: FamfsServerConfig = {
    device: "/dev/dax0.0",
    compat: false,
    profile,
    daxdevName: "/dev/dax0.0",
    scenario,
    presets: { regular: "/tmp/regular", nodev: "/tmp/nodev/dax" },
    entryTimeoutMs: 1000,
    attrTimeoutMs: 1000,
  };
  const events: LoopEvent[] = [];
  const server = createServer(cfg, {
    workerIndex: 0,
    workers: 1,
    shared,
    post: () => {},
  });
  const loop = new RequestLoop(
    -1,
    0,
    server,
    new InterruptTable(new SharedArrayBuffer(64), 1),
    (e) => events.push(e),
    1 << 20,
  );
  let unique = 10n;
  const call = (opcode: number, nodeid: bigint, body: Uint8Array = new Uint8Array()): Reply => {
    const msg = new Uint8Array(40 + body.byteLength);
    msg.set(
      encodeInHeader({
        len: msg.byteLength,
        opcode,
        unique: unique++,
        nodeid,
        uid: 0,
        gid: 0,
        pid: 1,
        totalExtlen: 0,
      }),
    );
    msg.set(body, 40);
    let got: Reply = { kind: "none" };
    loop.dispatch(msg, (r) => {
      got = r.reply;
      return { written: 0, errno: 0, length: 0, error: 0 };
    });
    return got;
  };
  const lookup = (parent: bigint, name: string): bigint => {
    const r = call(
      Opcode.LOOKUP,
      parent,
      new TextEncoder().encode(name + "\0"),
    );
    assert(r.kind === "ok" && r.payload, `lookup ${name}`);
    return new DataView(r.payload.buffer, r.payload.byteOffset).getBigUint64(
      0,
      true,
    );
  };
  return { call, lookup, events, log };
}

function init(
  call: (op: number, n: bigint, b?: Uint8Array) => Reply,
  flags: bigint,
): Reply {
  return call(
    Opcode.INIT,
    0n,
    encodeInitIn({ major: 7, minor: 47, maxReadahead: 131072, flags }),
  );
}

const INIT_EXT = 1n << 30n;

Deno.test("famfs mode: INIT refused without the profile flag, accepted with it", () => {
  const a = setup("ref");
  const r = init(a.call, INIT_EXT | (1n << 43n));
  assertEquals(r, { kind: "error", errno: 71 });
  assertEquals(a.events[0].type, "init-refused");
  assert(
    a.events[0].type === "init-refused" &&
      a.events[0].message.includes("INIT bit 44"),
  );
  const b = setup("ref");
  const ok = init(b.call, INIT_EXT | (1n << 44n));
  assert(ok.kind === "ok" && ok.payload);
  const v = new DataView(ok.payload.buffer, ok.payload.byteOffset);
  assertEquals(v.getUint32(4, true), 47); // minor
  assertEquals(v.getUint32(32, true) & (1 << 12), 1 << 12); // flags2 bit 12 = INIT bit 44
  const c = setup("v3");
  const ok3 = init(c.call, INIT_EXT | (1n << 43n));
  assert(ok3.kind === "ok" && ok3.payload);
  assertEquals(
    new DataView(ok3.payload.buffer, ok3.payload.byteOffset).getUint32(4, true),
    46,
  );
});

for (const name of ["rfc-v2", "v3", "ref"] as ProfileName[]) {
  Deno.test(`famfs mode (${name}): GET_FMAP of files and .meta, GET_DAXDEV by nodeid`, () => {
    const p = PROFILES[name];
    const s = setup(name);
    const body = p.fmapRequestHasBody ? new Uint8Array([0, 16, 0, 0, 0, 0, 0, 0]) : new Uint8Array();
    const a = s.lookup(1n, "a");
    assertEquals(s.call(p.getFmapOpcode, a, body), {
      kind: "ok",
      payload: encodeFmap(FamfsFileType.REG, 3 * 1024 * 1024, FILE_FMAP),
    });
    const il = s.lookup(1n, "il");
    assertEquals(s.call(p.getFmapOpcode, il, body), {
      kind: "ok",
      payload: encodeFmap(FamfsFileType.REG, 8 * M2, IL_FMAP),
    });
    const meta = s.lookup(1n, ".meta");
    const sb = s.call(p.getFmapOpcode, s.lookup(meta, ".superblock"), body);
    assertEquals(sb, {
      kind: "ok",
      payload: encodeFmap(FamfsFileType.SUPERBLOCK, M2, {
        type: "simple",
        extents: [{ devindex: 0, offset: 0, len: M2 }],
      }),
    });
    const lg = s.call(p.getFmapOpcode, s.lookup(meta, ".log"), body);
    assertEquals(lg, {
      kind: "ok",
      payload: encodeFmap(FamfsFileType.LOG, LOG_LEN, {
        type: "simple",
        extents: [{ devindex: 0, offset: M2, len: LOG_LEN }],
      }),
    });
    assertEquals(s.call(p.getDaxdevOpcode, 0n), {
      kind: "ok",
      payload: encodeDaxdevOut({ index: 0, name: "/dev/dax0.0" }),
    });
    assertEquals(s.call(p.getDaxdevOpcode, 3n), {
      kind: "error",
      errno: Errno.ENODEV,
    });
    assertEquals(s.call(p.getFmapOpcode, 1n, body), {
      kind: "error",
      errno: Errno.EINVAL,
    });
  });
}

Deno.test("OPEN replies ask for no FLUSH (a dying daemon must not wait on its own connection)", () => {
  const s = setup("ref");
  const open = (n: bigint) => s.call(Opcode.OPEN, n, new Uint8Array(8));
  const meta = s.lookup(1n, ".meta");
  assertEquals(open(s.lookup(1n, "a")), { kind: "ok", payload: encodeOpenOut(0n, OpenFlag.NOFLUSH) });
  assertEquals(open(s.lookup(meta, ".log")), {
    kind: "ok",
    payload: encodeOpenOut(0n, OpenFlag.NOFLUSH | OpenFlag.DIRECT_IO),
  });
});

Deno.test("famfs mode rfc-v2: fmap larger than the request's size is refused (ERANGE)", () => {
  const s = setup("rfc-v2");
  const small = new Uint8Array(8);
  new DataView(small.buffer).setUint32(0, 40, true);
  assertEquals(s.call(53, s.lookup(1n, "a"), small), {
    kind: "error",
    errno: Errno.ERANGE,
  });
});

Deno.test("famfs mode ref: opcode 53 is COPY_FILE_RANGE_64 there, answered ENOSYS", () => {
  const s = setup("ref");
  assertEquals(s.call(53, 1n), { kind: "error", errno: Errno.ENOSYS });
});

Deno.test("GETXATTR is ENOSYS, so the kernel stops asking (no round trip per write for file_remove_privs)", () => {
  const s = setup("ref");
  const body = new Uint8Array([...new Uint8Array(8), ...new TextEncoder().encode("security.capability\0")]);
  assertEquals(s.call(Opcode.GETXATTR, s.lookup(1n, "a"), body), { kind: "error", errno: Errno.ENOSYS });
});

Deno.test("client role: files are read-only (mode without w bits, OPEN for writing refused with EROFS)", () => {
  for (const role of ["master", "client"] as const) {
    const s = setup("ref", undefined, role);
    const a = s.lookup(1n, "a");
    const flags = (f: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(0, f, true);
      return b;
    };
    const opened = (f: number) => s.call(Opcode.OPEN, a, flags(f)).kind === "ok";
    assertEquals(
      [opened(0), opened(1), opened(2)],
      role === "client" ? [true, false, false] : [true, true, true],
      role,
    );
    assertEquals(
      s.call(Opcode.OPEN, a, flags(2)),
      role === "client" ? { kind: "error", errno: Errno.EROFS } : {
        kind: "ok",
        payload: encodeOpenOut(0n, OpenFlag.NOFLUSH),
      },
    );
    const attr = s.call(Opcode.GETATTR, a, new Uint8Array(16));
    assert(attr.kind === "ok" && attr.payload);
    const mode = new DataView(attr.payload.buffer, attr.payload.byteOffset).getUint32(16 + 60, true);
    assertEquals(mode & 0o777, role === "client" ? 0o444 : 0o644, `${role}: mode of a`);
    // The daemon's own log stays writable (it maps it).
    assertEquals(s.call(Opcode.OPEN, s.lookup(s.lookup(1n, ".meta"), ".log"), flags(2)).kind, "ok", role);
  }
});

Deno.test("scenario shift: GET_FMAP extents moved off 2 MiB alignment, simple and interleaved", () => {
  const s = setup("ref", { rules: [{ op: "GET_FMAP", shift: 4096 }] });
  const moved = (x: SimpleExtent) => ({ ...x, offset: x.offset + 4096 });
  assertEquals(s.call(54, s.lookup(1n, "a")), {
    kind: "ok",
    payload: encodeFmap(FamfsFileType.REG, 3 * 1024 * 1024, { type: "simple", extents: FILE_FMAP.extents.map(moved) }),
  });
  const il = IL_FMAP.iext.map((ie) => ({ ...ie, strips: ie.strips.map(moved) }));
  assertEquals(s.call(54, s.lookup(1n, "il")), {
    kind: "ok",
    payload: encodeFmap(FamfsFileType.REG, 8 * M2, { type: "interleave", iext: il }),
  });
});

Deno.test("scenarios: names, wrong devindex, errors by index, short/long/garbage replies", () => {
  const s = setup("ref", {
    rules: [
      { op: "GET_DAXDEV", index: 0, name: "@unterminated" },
      { op: "GET_DAXDEV", index: 1, name: "@regular", devindex: 9 },
      { op: "GET_DAXDEV", index: 2, name: "@nodev" },
      { op: "GET_DAXDEV", index: 3, name: "@devnull" },
      { op: "GET_DAXDEV", index: 4, error: "EBUSY" },
      { op: "GET_DAXDEV", index: 5, reply: "short", bytes: 100 },
      { op: "GET_DAXDEV", index: 6, reply: "long", bytes: 8 },
      { op: "GET_FMAP", index: 0, devindex: 5 },
      { op: "GET_FMAP", index: 1, reply: "garbage", bytes: 64 },
    ],
  });
  const r0 = s.call(55, 0n);
  assert(r0.kind === "ok" && r0.payload);
  assertEquals(r0.payload.subarray(24).every((x) => x === 0x61), true);
  assertEquals(s.call(55, 0n), {
    kind: "ok",
    payload: encodeDaxdevOut({ index: 9, name: "/tmp/regular" }),
  });
  assertEquals(s.call(55, 0n), {
    kind: "ok",
    payload: encodeDaxdevOut({ index: 0, name: "/tmp/nodev/dax" }),
  });
  assertEquals(s.call(55, 0n), {
    kind: "ok",
    payload: encodeDaxdevOut({ index: 0, name: "/dev/null" }),
  });
  assertEquals(s.call(55, 0n), { kind: "error", errno: Errno.EBUSY });
  const short = s.call(55, 0n);
  assert(short.kind === "raw");
  assertEquals(short.bytes.byteLength, 16 + 100);
  assertEquals(new DataView(short.bytes.buffer).getUint32(0, true), 116); // out header len matches
  const long = s.call(55, 0n);
  assert(long.kind === "raw");
  assertEquals(long.bytes.byteLength, 16 + 280 + 8);
  const a = s.lookup(1n, "a");
  const dev5 = s.call(54, a);
  assert(dev5.kind === "ok" && dev5.payload);
  assertEquals(
    new DataView(dev5.payload.buffer, dev5.payload.byteOffset).getUint32(
      32,
      true,
    ),
    5,
  );
  const g = s.call(54, a);
  assert(g.kind === "raw");
  assertEquals(g.bytes.byteLength, 16 + 64);
  assertEquals(s.call(54, a), {
    kind: "ok",
    payload: encodeFmap(FamfsFileType.REG, 3 * 1024 * 1024, FILE_FMAP),
  });
});

Deno.test("scenario fmap: a written map replaces one file's GET_FMAP reply, sent past the size limit too", () => {
  const spec = { header: { nextents: 33 }, extents: [{ devindex: 23, offset: "0x10000000000000", len: M2 }] };
  const s = setup("rfc-v2", { rules: [{ op: "GET_FMAP", file: "a", fmap: { ...spec, length: 4097 } }] });
  const small = new Uint8Array(8);
  new DataView(small.buffer).setUint32(0, 40, true);
  const a = s.call(53, s.lookup(1n, "a"), small);
  assert(a.kind === "ok" && a.payload);
  assertEquals(a.payload.byteLength, 4097);
  const want = encodeFmapSpec(spec, { type: FamfsFileType.REG, size: 3 * 1024 * 1024, fmap: FILE_FMAP });
  assertEquals(a.payload.subarray(0, want.byteLength), want);
  assertEquals(new DataView(a.payload.buffer, a.payload.byteOffset).getUint32(8, true), 33);
  // Another file keeps its own map and the profile's limit.
  assertEquals(s.call(53, s.lookup(1n, "il"), small), { kind: "error", errno: Errno.ERANGE });
  // A directory has no map: refused as without a scenario.
  const d = setup("ref", { rules: [{ op: "GET_FMAP", fmap: {} }] });
  assertEquals(d.call(54, 1n), { kind: "error", errno: Errno.EINVAL });
});

Deno.test("LISTXATTR: no names (size 0 asks the size: 0; a buffer gets an empty list)", () => {
  const s = setup("ref");
  const a = s.lookup(1n, "a");
  const ask = (size: number) => s.call(Opcode.LISTXATTR, a, new Uint8Array(new Uint32Array([size, 0]).buffer));
  assertEquals(ask(0), { kind: "ok", payload: encodeGetxattrOut(0) });
  assertEquals(ask(4096), { kind: "ok", payload: new Uint8Array() });
});
