// A guest's machine and DAX devices, declared as data (vm-images/topologies/*.json).

export type DaxDriver = "device_dax" | "fsdev_dax";

/** An emulated NVDIMM, turned into a devdax namespace in the guest. */
export interface PmemDevice {
  id: string;
  sizeMiB: number;
  /** Backing file; relative paths are resolved against the run folder. */
  backing?: string;
  /** Several guests map the same backing file (which must then be given). */
  shared?: boolean;
  driver: DaxDriver;
}

/** A CXL type-3 volatile memory device below a root port (or a switch port). */
export interface CxlDevice {
  id: string;
  sizeMiB: number;
  hostBridge: number;
  rootPort: number;
  /** Attach below a switch on that root port rather than on the port itself. */
  behindSwitch?: boolean;
}

/** A CXL region made of one or more devices (interleaved when more than one). */
export interface CxlRegion {
  id: string;
  devices: string[];
  /** Interleave granularity in bytes (256 ... 16384). */
  granularity: number;
  driver: DaxDriver;
}

export interface CxlFabric {
  hostBridges: number;
  rootPortsPerBridge: number;
  /** Size of the fixed memory window that regions are carved from. */
  windowGiB: number;
  devices: CxlDevice[];
  regions: CxlRegion[];
}

export interface Topology {
  name: string;
  /**
   * Guests booted on this topology, one QEMU process each (host-a, host-b, ...). With more than
   * one, every pmem device is shared: host-a sets its namespace up, the others probe what it wrote.
   */
  hosts: number;
  cpus: number;
  memoryMiB: number;
  pmem: PmemDevice[];
  cxl?: CxlFabric;
}

export class TopologyError extends Error {
  constructor(source: string, problem: string) {
    super(`topology ${source}: ${problem}`);
    this.name = "TopologyError";
  }
}

const MAX_HOSTS = 4;
const ID = /^[a-z][a-z0-9-]{0,15}$/;
const DRIVERS: readonly DaxDriver[] = ["device_dax", "fsdev_dax"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field<T>(
  obj: Record<string, unknown>,
  key: string,
  kind: "string" | "number" | "boolean" | "array" | "object",
  source: string,
  fallback?: T,
): T {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  const actual = Array.isArray(v) ? "array" : isRecord(v) ? "object" : typeof v;
  const ok = actual === kind;
  if (!ok) {
    throw new TopologyError(
      source,
      `"${key}" must be a ${kind}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

function positiveInt(v: number, what: string, source: string): number {
  if (!Number.isInteger(v) || v <= 0) {
    throw new TopologyError(
      source,
      `${what} must be a positive integer, got ${v}`,
    );
  }
  return v;
}

function driverOf(obj: Record<string, unknown>, source: string): DaxDriver {
  const d = field<string>(obj, "driver", "string", source, "device_dax");
  if (!DRIVERS.includes(d as DaxDriver)) {
    throw new TopologyError(
      source,
      `driver "${d}" is not one of ${DRIVERS.join(", ")}`,
    );
  }
  return d as DaxDriver;
}

function checkId(id: string, seen: Set<string>, source: string): string {
  if (!ID.test(id)) {
    throw new TopologyError(
      source,
      `id "${id}" must match ${ID} (it names QEMU objects)`,
    );
  }
  if (seen.has(id)) throw new TopologyError(source, `id "${id}" is used twice`);
  seen.add(id);
  return id;
}

function parseCxl(
  raw: Record<string, unknown>,
  ids: Set<string>,
  source: string,
): CxlFabric {
  const hostBridges = positiveInt(
    field(raw, "hostBridges", "number", source, 1),
    "cxl.hostBridges",
    source,
  );
  const rootPortsPerBridge = positiveInt(
    field(raw, "rootPortsPerBridge", "number", source, 1),
    "cxl.rootPortsPerBridge",
    source,
  );
  const windowGiB = positiveInt(
    field(raw, "windowGiB", "number", source, 4),
    "cxl.windowGiB",
    source,
  );
  const devices = field<unknown[]>(raw, "devices", "array", source).map(
    (d, i): CxlDevice => {
      const where = `${source} cxl.devices[${i}]`;
      if (!isRecord(d)) throw new TopologyError(where, "must be an object");
      const dev: CxlDevice = {
        id: checkId(field(d, "id", "string", where), ids, where),
        sizeMiB: positiveInt(
          field(d, "sizeMiB", "number", where),
          "sizeMiB",
          where,
        ),
        hostBridge: field(d, "hostBridge", "number", where, 0),
        rootPort: field(d, "rootPort", "number", where, 0),
        behindSwitch: field(d, "behindSwitch", "boolean", where, false),
      };
      if (dev.sizeMiB % 256 !== 0) {
        throw new TopologyError(
          where,
          `sizeMiB ${dev.sizeMiB} must be a multiple of 256 (CXL decoder granule)`,
        );
      }
      if (dev.hostBridge >= hostBridges || dev.rootPort >= rootPortsPerBridge) {
        throw new TopologyError(
          where,
          `hostBridge ${dev.hostBridge} / rootPort ${dev.rootPort} outside ${hostBridges} bridge(s) x ${rootPortsPerBridge} port(s)`,
        );
      }
      return dev;
    },
  );
  const used = new Set<string>();
  const regions = field<unknown[]>(raw, "regions", "array", source, []).map(
    (r, i): CxlRegion => {
      const where = `${source} cxl.regions[${i}]`;
      if (!isRecord(r)) throw new TopologyError(where, "must be an object");
      const members = field<string[]>(r, "devices", "array", where);
      for (const m of members) {
        if (!devices.some((d) => d.id === m)) {
          throw new TopologyError(where, `unknown device "${m}"`);
        }
        if (used.has(m)) {
          throw new TopologyError(
            where,
            `device "${m}" is already in a region`,
          );
        }
        used.add(m);
      }
      const ways = members.length;
      if (![1, 2, 4, 8].includes(ways)) {
        throw new TopologyError(
          where,
          `${ways} devices: interleave ways must be 1, 2, 4 or 8`,
        );
      }
      const granularity = field<number>(r, "granularity", "number", where, 256);
      if (![256, 512, 1024, 2048, 4096, 8192, 16384].includes(granularity)) {
        throw new TopologyError(
          where,
          `granularity ${granularity} must be a power of two from 256 to 16384`,
        );
      }
      return {
        id: checkId(field(r, "id", "string", where), ids, where),
        devices: members,
        granularity,
        driver: driverOf(r, where),
      };
    },
  );
  return { hostBridges, rootPortsPerBridge, windowGiB, devices, regions };
}

/** Validates untyped JSON into a Topology; every problem names the field and the fix. */
export function parseTopology(raw: unknown, source: string): Topology {
  if (!isRecord(raw)) throw new TopologyError(source, "must be a JSON object");
  const ids = new Set<string>();
  const pmem = field<unknown[]>(raw, "pmem", "array", source, []).map(
    (p, i): PmemDevice => {
      const where = `${source} pmem[${i}]`;
      if (!isRecord(p)) throw new TopologyError(where, "must be an object");
      const sizeMiB = positiveInt(
        field(p, "sizeMiB", "number", where),
        "sizeMiB",
        where,
      );
      if (sizeMiB % 2 !== 0 || sizeMiB < 64) {
        throw new TopologyError(
          where,
          `sizeMiB ${sizeMiB} must be even and >= 64 (2 MiB aligned devdax)`,
        );
      }
      if (p.shared === true && p.backing === undefined) {
        throw new TopologyError(
          where,
          `"shared": true needs a "backing" file path that the guests have in common`,
        );
      }
      return {
        id: checkId(field(p, "id", "string", where), ids, where),
        sizeMiB,
        backing: p.backing === undefined ? undefined : field<string>(p, "backing", "string", where),
        shared: field(p, "shared", "boolean", where, false),
        driver: driverOf(p, where),
      };
    },
  );
  const topo: Topology = {
    name: field(raw, "name", "string", source),
    hosts: positiveInt(field(raw, "hosts", "number", source, 1), "hosts", source),
    cpus: positiveInt(field(raw, "cpus", "number", source, 2), "cpus", source),
    memoryMiB: positiveInt(
      field(raw, "memoryMiB", "number", source, 2048),
      "memoryMiB",
      source,
    ),
    pmem,
    cxl: raw.cxl === undefined ? undefined : parseCxl(field(raw, "cxl", "object", source), ids, source),
  };
  if (topo.hosts > MAX_HOSTS) {
    throw new TopologyError(source, `hosts ${topo.hosts}: at most ${MAX_HOSTS}`);
  }
  if (topo.hosts > 1) {
    if (topo.cxl) {
      throw new TopologyError(source, `hosts ${topo.hosts} with "cxl": only shared pmem is supported across hosts`);
    }
    const own = pmem.find((p) => !p.shared);
    if (own || pmem.length === 0) {
      throw new TopologyError(
        source,
        `hosts ${topo.hosts}: every pmem device must be "shared": true with a "backing" file${
          own ? ` (${own.id} is not)` : " (there is none)"
        }`,
      );
    }
  }
  if (pmem.length > 4) {
    throw new TopologyError(
      source,
      `${pmem.length} pmem devices: at most 4 (QEMU memory slots)`,
    );
  }
  return topo;
}

export const TOPOLOGY_DIR = new URL(
  "../vm-images/topologies/",
  import.meta.url,
);

/** Loads a topology by name (vm-images/topologies/NAME.json) or by file path. */
export async function loadTopology(nameOrPath: string): Promise<Topology> {
  const isPath = nameOrPath.includes("/") || nameOrPath.endsWith(".json");
  const url = isPath ? nameOrPath : new URL(`${nameOrPath}.json`, TOPOLOGY_DIR).pathname;
  let text: string;
  try {
    text = await Deno.readTextFile(url);
  } catch {
    const known = [...Deno.readDirSync(TOPOLOGY_DIR)].map((e) => e.name.replace(/\.json$/, ""));
    throw new TopologyError(
      nameOrPath,
      `not found; use one of ${known.sort().join(", ")} or a path to a .json file`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TopologyError(url, `invalid JSON: ${(e as Error).message}`);
  }
  return parseTopology(raw, url);
}

/** Run folder names of the topology's guests: host-a, host-b, ... (none for a single host). */
export function hostNames(t: Topology): string[] {
  if (t.hosts === 1) return [];
  return Array.from({ length: t.hosts }, (_, i) => `host-${String.fromCharCode(97 + i)}`);
}

/** Every DAX device the guest will expose, in the order the guest setup creates them. */
export function daxDevices(
  t: Topology,
): { id: string; kind: "pmem" | "cxl"; driver: DaxDriver; sizeMiB: number }[] {
  const pm = t.pmem.map((p) => ({
    id: p.id,
    kind: "pmem" as const,
    driver: p.driver,
    sizeMiB: p.sizeMiB,
  }));
  const cx = (t.cxl?.regions ?? []).map((r) => ({
    id: r.id,
    kind: "cxl" as const,
    driver: r.driver,
    sizeMiB: r.devices.reduce(
      (s, d) => s + (t.cxl?.devices.find((x) => x.id === d)?.sizeMiB ?? 0),
      0,
    ),
  }));
  return [...pm, ...cx];
}
