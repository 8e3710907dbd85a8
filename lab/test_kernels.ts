// The kernels the integration tests boot; `deno task test` builds them first (cached).
import type { KernelRequest } from "./kernel.ts";

export const TEST_KERNELS: Record<string, KernelRequest> = {
  stock: { source: { kind: "debian" }, flavour: "base", fragments: [] },
};
