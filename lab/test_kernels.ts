// The kernels the integration tests boot; `deno task test` builds them first (cached). The
// default kernel (Debian's source + the reference famfs series) serves both the lab's own
// tests and the famfs suites, so a cold CI machine builds one kernel.
import type { KernelRequest } from "./kernel.ts";
import { DEFAULT_SERIES } from "./options.ts";

export const TEST_KERNELS: Record<string, KernelRequest> = {
  default: { source: { kind: "debian" }, flavour: "base", series: DEFAULT_SERIES, fragments: [] },
  // lab/series_test.ts: the other kernel variants the lab ships (each builds on ref's cache).
  v3: { source: { kind: "debian" }, flavour: "base", series: "v3", fragments: [] },
  "rfc-v2": { source: { kind: "debian" }, flavour: "base", series: "rfc-v2", fragments: [] },
  // lab/validate_test.ts validates the first three reference patches: their prefix kernels, built
  // each from the previous one's build folder (the same cache keys as that test's series).
  ...Object.fromEntries([1, 2, 3].map((k) => [
    `ref-prefix-${k}`,
    {
      source: { kind: "debian" },
      flavour: "base",
      series: DEFAULT_SERIES,
      fragments: [],
      firstPatches: k,
    } satisfies KernelRequest,
  ])),
};
