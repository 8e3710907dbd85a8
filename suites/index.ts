// Every conformance suite, in the order the main job runs them.
import type { Suite } from "../src/suite.ts";
import { suite as smoke } from "./smoke/suite.ts";

export const SUITES: Suite[] = [smoke];
