// The part of a guest's console a test produced: from its test-begin marker to its test-end marker
// (to the end of the log when the guest died inside the test). Pure.
import { parseMarker } from "../kmsg.ts";

/** Console lines of test `name` ("suite/test", as in the markers), "\r" dropped; null when it never began. */
export function consoleExcerpt(consoleText: string, name: string): string | null {
  const lines = consoleText.split("\n").map((l) => l.replace(/\r$/, ""));
  const begin = lines.findIndex((l) => {
    const m = parseMarker(l);
    return m?.type === "test-begin" && m.name === name;
  });
  if (begin < 0) return null;
  const end = lines.findIndex((l, i) => {
    if (i <= begin) return false;
    const m = parseMarker(l);
    return m?.type === "test-end" && m.name === name;
  });
  return lines.slice(begin, end < 0 ? lines.length : end + 1).join("\n") + "\n";
}

/** File name of a test's excerpt inside its guest folder: "excerpts/get_daxdev-nul.log". */
export function excerptFile(name: string): string {
  return `excerpts/${name.replace(/[^A-Za-z0-9._-]/g, "-")}.log`;
}
