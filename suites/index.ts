// Every conformance suite, in the order the main job runs them.
import type { Suite } from "./contract/mod.ts";
import { suite as smoke } from "./smoke/suite.ts";
import { suite as permissionNodev } from "./permission_nodev/suite.ts";
import { suite as teardown } from "./teardown/suite.ts";
import { suite as throughput } from "./throughput/suite.ts";
import { suite as famfsIo } from "./famfs_io/suite.ts";
import { suite as getDaxdev } from "./get_daxdev/suite.ts";
import { suite as getFmap } from "./get_fmap/suite.ts";
import { suite as fileEdges } from "./file_edges/suite.ts";
import { suite as multihost } from "./multihost/suite.ts";

// Quick, specific suites first: `lab sensitivity` runs a mutant suite by suite in this order and
// stops at the first that catches it. get_fmap comes last of the single-host suites: its hostile maps provoke
// one-time kernel warnings (WARN_ON_ONCE) and can leave a daemon slow to stop, which must not spoil others.
// multihost runs only on multi-host topologies (lab/run.ts suitesForHosts), where nothing else runs.
export const SUITES: Suite[] = [
  smoke,
  getDaxdev,
  fileEdges,
  permissionNodev,
  famfsIo,
  teardown,
  throughput,
  getFmap,
  multihost,
];
