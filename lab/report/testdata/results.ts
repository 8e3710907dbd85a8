// Hand-written TestResults for the emitter tests (the lab's runner does not exist yet).
import type { Finding } from "../../kmsg.ts";
import type { TestResult } from "../result.ts";

export const warnFinding: Finding = {
  kind: "warning",
  test: "write_past_eof",
  firstLine: "WARNING: CPU: 1 PID: 73 at fs/fuse/file.c:123 fuse_perform_write+0x1f/0x40",
  lines: [
    "[   12.345678] WARNING: CPU: 1 PID: 73 at fs/fuse/file.c:123 fuse_perform_write+0x1f/0x40",
  ],
  offset: 4096,
  uptime: 12.345678,
  end: "end-marker",
};

export const sample: TestResult[] = [
  {
    suite: "famfs-basic",
    name: "mount",
    status: "pass",
    durationMs: 120.4,
    findings: [],
  },
  {
    suite: "famfs-basic",
    name: "write_past_eof",
    status: "fail",
    durationMs: 88,
    findings: [warnFinding],
  },
  {
    suite: "famfs-basic",
    name: "cxl # region",
    status: "skip",
    durationMs: 0,
    skipReason: "topology has no CXL",
    findings: [],
  },
  {
    suite: "famfs-basic",
    name: "read back",
    status: "fail",
    durationMs: 5,
    message: 'expected "abc"\ngot "abd"',
    findings: [],
    details: { file: "/mnt/famfs/a", size: 3 },
  },
];
