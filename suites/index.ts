// Every conformance suite, in the order the main job runs them.
import type { Suite } from "../src/suite.ts";
import { suite as smoke } from "./smoke/suite.ts";
import { suite as permissionNodev } from "./permission_nodev/suite.ts";
import { suite as teardown } from "./teardown/suite.ts";
import { suite as throughput } from "./throughput/suite.ts";
import { suite as famfsIo } from "./famfs_io/suite.ts";
import { suite as getDaxdev } from "./get_daxdev/suite.ts";

// Suites whose daemons stop cleanly on the reference kernel first: it hangs in teardown after
// some mmap patterns (README), and a hung daemon must not spoil the results of the others.
export const SUITES: Suite[] = [smoke, getDaxdev, permissionNodev, famfsIo, teardown, throughput];
