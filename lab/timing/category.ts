// What a command sent to the guest is, judged from its text: where a main job's time goes is
// told by these categories (a guest `deno run` costs seconds of start-up under TCG alone).

export const EXEC_CATEGORIES = [
  "deno-run",
  "daemon-start",
  "daemon-stop",
  "wait",
  "shell",
  "marker",
] as const;

/**
 * marker: the runner's test-begin/test-end line in the kernel log.
 * daemon-start: `famfs mount` started in the background and waited for until ready.
 * daemon-stop: a signal to a process, the wait for its exit, or a FUSE connection abort.
 * deno-run: any other Deno process in the guest (probes, famfs CLI tools, benchmarks).
 * wait: a shell command that sleeps (fixed waits and poll loops).
 * shell: everything else (the work itself: mounts, dd, cat, stat, ...).
 */
export type ExecCategory = typeof EXEC_CATEGORIES[number];

export function execCategory(command: string): ExecCategory {
  if (/^echo 'famfs-lab: test-(begin|end) [^']*' > \/dev\/kmsg$/.test(command)) return "marker";
  if (/\/src\/famfs\/cli\.ts mount /.test(command) && command.includes("famfs: ready")) return "daemon-start";
  if (/^kill (-\w+ )?\d+/.test(command) || /\btail --pid=/.test(command)) return "daemon-stop";
  if (/^echo 1 > \/sys\/fs\/fuse\/connections\/\d+\/abort$/.test(command)) return "daemon-stop";
  if (/\bdeno run\b/.test(command)) return "deno-run";
  if (/(^|[;&|(\s])sleep \d/.test(command)) return "wait";
  return "shell";
}
