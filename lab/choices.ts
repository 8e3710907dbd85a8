// The names a user may give, as they exist in the repository (suites, topologies, series,
// mutants), for options.ts to check before anything is built or booted.
import type { Choices } from "./options.ts";
import { SERIES_DIR } from "./patches.ts";
import { listMutants } from "./sensitivity.ts";
import { TOPOLOGY_DIR } from "./topology.ts";
import { SUITES } from "../suites/index.ts";

const names = (dir: string | URL, keep: (e: Deno.DirEntry) => boolean, strip = /$^/) =>
  [...Deno.readDirSync(dir)].filter(keep).map((e) => e.name.replace(strip, "")).sort();

export function knownChoices(): Choices {
  return {
    suites: SUITES.map((s) => s.name),
    topologies: names(TOPOLOGY_DIR, (e) => e.name.endsWith(".json"), /\.json$/),
    series: names(SERIES_DIR, (e) => e.isDirectory),
    mutants: listMutants(),
  };
}
