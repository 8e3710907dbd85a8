// Whether a suite or test applies to this kernel and guest (pure). A suite that needs famfs on a
// kernel without it is "not applicable" (reported once per run); other unmet needs are skips with
// the reason.
import type { GuestFacts, KernelFacts, Needs } from "./suite.ts";

export type Gate = { run: true } | { run: false; reason: string; notApplicable: boolean };

export function gate(needs: Needs, kernel: KernelFacts, guest: GuestFacts): Gate {
  if (needs.famfs && !kernel.famfs) {
    return { run: false, notApplicable: true, reason: "the kernel has no famfs support" };
  }
  if (needs.flavour && needs.flavour !== kernel.flavour) {
    return {
      run: false,
      notApplicable: false,
      reason: `needs the ${needs.flavour} kernel flavour (--flavour ${needs.flavour})`,
    };
  }
  if (needs.devices && guest.devices.length < needs.devices) {
    return {
      run: false,
      notApplicable: false,
      reason: `needs ${needs.devices} DAX devices, topology ${guest.topology} has ${guest.devices.length}`,
    };
  }
  const hosts = guest.hosts ?? 1;
  if (needs.hosts && hosts < needs.hosts) {
    return {
      run: false,
      notApplicable: false,
      reason: `needs ${needs.hosts} hosts sharing memory, topology ${guest.topology} has ${hosts} (-t multihost)`,
    };
  }
  return { run: true };
}
