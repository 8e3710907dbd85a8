/**
 * The scenario layer around a plain FUSE server: rules act before, instead of
 * or after the wrapped handlers, and the request log names the rules applied.
 */
import { assert, assertEquals } from "../fuse/assert.ts";
import { Errno, Opcode } from "../fuse/abi.ts";
import { decodeOutHeader, defaultInitOut } from "../fuse/codec.ts";
import type { FuseRequest, FuseServer, Reply, ReplyOutcome } from "../fuse/server.ts";
import { PROFILES } from "./profiles.ts";
import { readRequestLog } from "./request_log.ts";
import { parseScenario } from "./scenario.ts";
import { ScenarioLayer } from "./scenario_layer.ts";

/** Answers every request with a 4-byte payload holding its nodeid, and counts the calls. */
class EchoServer implements FuseServer {
  calls = 0;
  init() {
    return defaultInitOut(46);
  }
  handle(req: FuseRequest): Reply {
    this.calls++;
    return { kind: "ok", payload: new Uint8Array([Number(req.header.nodeid), 0, 0, 0]) };
  }
}

function layer(rules: unknown[], requestLog?: string) {
  const inner = new EchoServer();
  const posted: unknown[] = [];
  const facts = {
    profile: PROFILES.ref,
    compat: false,
    pathOf: (ino: bigint) => ino === 5n ? "dir/f" : undefined,
    fileFmap: () => undefined,
  };
  const server = new ScenarioLayer(
    inner,
    facts,
    {
      scenario: parseScenario(JSON.stringify({ rules }), "t.json"),
      requestLog,
      daxdevName: "/dev/dax0.0",
      presets: { regular: "/r" },
    },
    new Int32Array(256),
    { workerIndex: 0, workers: 1, shared: new SharedArrayBuffer(8), post: (m) => posted.push(m) },
  );
  let unique = 1n;
  const call = (opcode: number, nodeid: bigint) => {
    const req: FuseRequest = {
      header: { len: 40, opcode, unique: unique++, nodeid, uid: 0, gid: 0, pid: 1, totalExtlen: 0 },
      body: new Uint8Array(),
      worker: 0,
      interrupted: () => false,
      payload: (size) => new Uint8Array(size),
    };
    const reply = server.handle(req);
    const outcome: ReplyOutcome = { written: 0, errno: 0, length: 0, error: 0 };
    server.observe(req, reply, outcome);
    return reply;
  };
  return { inner, call, posted };
}

Deno.test("scenario layer: an error rule answers instead of the wrapped handler, by occurrence and by file", () => {
  const { inner, call } = layer([
    { op: "LOOKUP", index: 1, error: "EACCES" },
    { op: "GETATTR", file: "dir/f", error: 5 },
  ]);
  assertEquals(call(Opcode.LOOKUP, 5n), { kind: "ok", payload: new Uint8Array([5, 0, 0, 0]) });
  assertEquals(call(Opcode.LOOKUP, 5n), { kind: "error", errno: Errno.EACCES });
  assertEquals(call(Opcode.LOOKUP, 5n).kind, "ok");
  assertEquals(call(Opcode.GETATTR, 4n).kind, "ok");
  assertEquals(call(Opcode.GETATTR, 5n), { kind: "error", errno: Errno.EIO });
  assertEquals(inner.calls, 3);
});

Deno.test("scenario layer: reshapes the wrapped handler's reply, logs rule indexes, asks for the crash after it", () => {
  const log = Deno.makeTempFileSync({ suffix: ".jsonl" });
  try {
    const { call, posted } = layer([
      { op: "STATFS", reply: "short", bytes: 1 },
      { op: "STATFS", crashAfterReply: true },
    ], log);
    const r = call(Opcode.STATFS, 7n);
    assert(r.kind === "raw");
    assertEquals(decodeOutHeader(r.bytes).len, 16 + 1);
    assertEquals(r.bytes.subarray(16), new Uint8Array([7]));
    assertEquals(posted, [{ type: "crash" }]);
    call(Opcode.LOOKUP, 1n);
    const recs = readRequestLog(Deno.readTextFileSync(log));
    assertEquals(recs.map((x) => [x.op, x.rules]), [["STATFS", [0, 1]], ["LOOKUP", undefined]]);
  } finally {
    Deno.removeSync(log);
  }
});
