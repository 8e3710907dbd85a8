// Every conformance suite, in the order the main job runs them.
import type { Suite } from "./contract/mod.ts";
import { suite as smoke } from "./smoke/suite.ts";
import { suite as getFmap } from "./get_fmap/suite.ts";
import { suite as fileEdges } from "./file_edges/suite.ts";

// Quick, specific suites first: `lab sensitivity` runs a mutant suite by suite in this order and
// stops at the first that catches it.
// The famfs suites are being moved onto the suite contract (suites/contract); each comes back
// into this list as it is moved.
export const SUITES: Suite[] = [smoke, getFmap, fileEdges];
