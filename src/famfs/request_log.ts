/** JSONL request log: one line per request the daemon saw, for suites to read. */
import { opcodeName } from "../fuse/abi.ts";
import type { FuseRequest, Reply, ReplyOutcome } from "../fuse/server.ts";
import type { Profile } from "./profiles.ts";

export interface RequestRecord {
  t: number;
  worker: number;
  opcode: number;
  op: string;
  unique: string;
  nodeid: string;
  inLen: number;
  bodyLen: number;
  reply: {
    kind: Reply["kind"];
    error: number;
    len: number;
    writeErrno: number;
  };
  rules?: number[];
}

export function famfsOpName(
  opcode: number,
  profile: Profile | undefined,
  compat: boolean,
): string {
  if (profile && !compat) {
    if (opcode === profile.getFmapOpcode) return "GET_FMAP";
    if (opcode === profile.getDaxdevOpcode) return "GET_DAXDEV";
  }
  return opcodeName(opcode);
}

export function makeRecord(
  req: FuseRequest,
  reply: Reply,
  outcome: ReplyOutcome,
  op: string,
  rules: number[],
): RequestRecord {
  const r: RequestRecord = {
    t: Date.now(),
    worker: req.worker,
    opcode: req.header.opcode,
    op,
    unique: req.header.unique.toString(),
    nodeid: req.header.nodeid.toString(),
    inLen: req.header.len,
    bodyLen: req.body.byteLength,
    reply: {
      kind: reply.kind,
      error: reply.kind === "error" ? -Math.abs(reply.errno) : outcome.error,
      len: outcome.length,
      writeErrno: outcome.errno,
    },
  };
  if (rules.length) r.rules = rules;
  return r;
}

export class RequestLogWriter {
  private file: Deno.FsFile;
  private te = new TextEncoder();
  constructor(readonly path: string) {
    this.file = Deno.openSync(path, { append: true, create: true });
  }
  write(rec: RequestRecord): void {
    this.file.writeSync(this.te.encode(JSON.stringify(rec) + "\n"));
  }
}

/** Parses a request log (suites and tests). */
export function readRequestLog(text: string): RequestRecord[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as RequestRecord);
}
