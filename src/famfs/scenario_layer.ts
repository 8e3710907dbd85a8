/**
 * The scenario layer: a FuseServer wrapped around the famfs server's request
 * handlers. It counts and matches each request against the scenario, delays,
 * fails or rewrites the reply, writes the request log and asks for the crash
 * after the reply; the file system itself knows nothing of scenarios.
 */
import { Errno } from "../fuse/abi.ts";
import type { InitIn, InitOut } from "../fuse/codec.ts";
import type { FuseRequest, FuseServer, Reply, ReplyOutcome, ServerContext } from "../fuse/server.ts";
import { encodeDaxdevOut, encodeFmap, fmapReplyLimit } from "./fmap.ts";
import type { SimpleExtent } from "./log.ts";
import type { Profile } from "./profiles.ts";
import { famfsOpName, makeRecord, RequestLogWriter } from "./request_log.ts";
import {
  encodeFmapSpec,
  errnoOf,
  type FileFmap,
  matchRules,
  reshapePayload,
  type Scenario,
  type ScenarioRule,
} from "./scenario.ts";

/** What the layer asks of the file system it wraps. */
export interface FamfsFacts {
  readonly profile: Profile;
  readonly compat: boolean;
  /** Path of a node relative to the mount ("" for the root), undefined when unknown. */
  pathOf(ino: bigint): string | undefined;
  /** The map GET_FMAP would send; undefined when the node is no regular file. Throws ENOENT for unknown nodes. */
  fileFmap(ino: bigint): FileFmap | undefined;
}

export interface ScenarioLayerConfig {
  scenario?: Scenario;
  requestLog?: string;
  /** Name returned by GET_DAXDEV for devindex 0. */
  daxdevName: string;
  /** Paths for the @regular and @nodev scenario names. */
  presets: { regular: string; nodev?: string };
}

export class ScenarioLayer implements FuseServer {
  private readonly requestLog: RequestLogWriter | undefined;
  private readonly rulesHit = new Map<bigint, ScenarioRule[]>();
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  /** `counters`: per-opcode occurrence counters shared by every worker. */
  constructor(
    private readonly inner: FuseServer,
    private readonly facts: FamfsFacts,
    private readonly cfg: ScenarioLayerConfig,
    private readonly counters: Int32Array,
    private readonly ctx: ServerContext,
  ) {
    if (cfg.requestLog) this.requestLog = new RequestLogWriter(cfg.requestLog);
  }

  init(offer: InitIn): InitOut {
    return this.inner.init(offer);
  }

  forget(nodeid: bigint, nlookup: bigint): void {
    this.inner.forget?.(nodeid, nlookup);
  }

  destroy(): void {
    this.inner.destroy?.();
  }

  handle(req: FuseRequest): Reply {
    const rules = this.match(req);
    for (const r of rules) {
      if (r.delayMs && this.sleep(r.delayMs, req)) {
        return { kind: "error", errno: Errno.EINTR };
      }
    }
    const failing = rules.find((r) => r.error !== undefined);
    if (failing) return { kind: "error", errno: errnoOf(failing.error!) };
    const reply = this.rewrite(req, rules) ?? this.inner.handle(req);
    const reshape = rules.find((r) => r.reply);
    if (reshape && reply.kind === "ok") {
      return {
        kind: "raw",
        bytes: reshapePayload(reshape, req.header.unique, reply.payload ?? new Uint8Array()),
      };
    }
    return reply;
  }

  observe(req: FuseRequest, reply: Reply, outcome: ReplyOutcome): void {
    const rules = this.rulesHit.get(req.header.unique) ?? [];
    this.rulesHit.delete(req.header.unique);
    this.inner.observe?.(req, reply, outcome);
    if (this.requestLog) {
      const op = famfsOpName(req.header.opcode, this.facts.profile, this.facts.compat);
      const idx = rules.map((r) => this.cfg.scenario!.rules.indexOf(r));
      this.requestLog.write(makeRecord(req, reply, outcome, op, idx));
    }
    if (rules.some((r) => r.crashAfterReply)) this.ctx.post({ type: "crash" });
  }

  /** Rules for this request; counts the occurrence of its opcode. */
  private match(req: FuseRequest): ScenarioRule[] {
    const s = this.cfg.scenario;
    if (!s) return [];
    const op = req.header.opcode;
    const occ = op < this.counters.length ? Atomics.add(this.counters, op, 1) : 0;
    const rules = matchRules(s, this.facts.profile, op, occ).filter((r) =>
      (r.nodeid === undefined || BigInt(r.nodeid) === req.header.nodeid) &&
      (r.file === undefined || this.facts.pathOf(req.header.nodeid) === r.file)
    );
    if (rules.length) this.rulesHit.set(req.header.unique, rules);
    return rules;
  }

  /** A reply the rules write themselves (GET_FMAP and GET_DAXDEV contents), or undefined for the normal one. */
  private rewrite(req: FuseRequest, rules: ScenarioRule[]): Reply | undefined {
    const { profile, compat } = this.facts;
    if (compat || rules.length === 0) return undefined;
    if (req.header.opcode === profile.getFmapOpcode) return this.getFmap(req, rules);
    if (req.header.opcode === profile.getDaxdevOpcode) return this.getDaxdev(req, rules);
    return undefined;
  }

  private getFmap(req: FuseRequest, rules: ScenarioRule[]): Reply | undefined {
    const spec = rules.find((r) => r.fmap !== undefined)?.fmap;
    const dev = rules.find((r) => r.devindex !== undefined)?.devindex;
    const shift = rules.find((r) => r.shift !== undefined)?.shift ?? 0;
    if (spec === undefined && dev === undefined && shift === 0) return undefined;
    const file = this.facts.fileFmap(req.header.nodeid);
    if (!file) return { kind: "error", errno: Errno.EINVAL };
    // A written map is sent as is, past the kernel's size limit too: that is what it tests.
    if (spec) return { kind: "ok", payload: encodeFmapSpec(spec, file) };
    const edit = (x: SimpleExtent) => ({ ...x, devindex: dev ?? x.devindex, offset: x.offset + shift });
    const f = file.fmap;
    const payload = encodeFmap(
      file.type,
      file.size,
      f.type === "simple"
        ? { type: "simple", extents: f.extents.map(edit) }
        : { type: "interleave", iext: f.iext.map((ie) => ({ ...ie, strips: ie.strips.map(edit) })) },
    );
    if (payload.byteLength > fmapReplyLimit(this.facts.profile, req.body)) {
      return { kind: "error", errno: Errno.ERANGE };
    }
    return { kind: "ok", payload };
  }

  private getDaxdev(req: FuseRequest, rules: ScenarioRule[]): Reply | undefined {
    const index = Number(req.header.nodeid);
    const nameRule = rules.find((r) => r.name !== undefined)?.name;
    const idxRule = rules.find((r) => r.devindex !== undefined)?.devindex;
    // Without a name only index 0 has a device: the file system's ENODEV stands.
    if (nameRule === undefined && (idxRule === undefined || index !== 0)) return undefined;
    let name: string | Uint8Array = this.cfg.daxdevName;
    if (nameRule === "@unterminated") name = new Uint8Array(256).fill(0x61);
    else if (nameRule === "@regular") name = this.cfg.presets.regular;
    else if (nameRule === "@devnull") name = "/dev/null";
    else if (nameRule === "@nodev") name = this.cfg.presets.nodev ?? "/dev/null";
    else if (nameRule !== undefined) name = nameRule;
    return { kind: "ok", payload: encodeDaxdevOut({ index: idxRule ?? index, name }) };
  }

  /** Sleeps in slices; true when interrupted. */
  private sleep(ms: number, req: FuseRequest): boolean {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (req.interrupted()) return true;
      Atomics.wait(this.sleeper, 0, 0, Math.min(10, end - Date.now()));
    }
    return req.interrupted();
  }
}
