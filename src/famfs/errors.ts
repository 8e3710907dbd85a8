/** Typed errors of the famfs format and daemon. Messages name the bad input. */

/** The superblock at offset 0 is missing or inconsistent. */
export class SuperblockError extends Error {
  constructor(
    readonly device: string,
    readonly offset: number,
    reason: string,
  ) {
    super(
      `${device}: bad famfs superblock at offset 0x${offset.toString(16)}: ${reason}`,
    );
    this.name = "SuperblockError";
  }
}

/** The log header or a log entry is corrupt. */
export class LogError extends Error {
  constructor(
    readonly offset: number,
    readonly index: number | undefined,
    reason: string,
  ) {
    super(
      `famfs log ${index === undefined ? "header" : `entry ${index}`} at device offset 0x${
        offset.toString(16)
      }: ${reason}`,
    );
    this.name = "LogError";
  }
}

/** No space, bad size or bad interleave parameters for a new file. */
export class AllocError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AllocError";
  }
}

/** A command-line argument is missing or malformed. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A scenario file does not parse or names an unknown opcode/action. */
export class ScenarioError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "ScenarioError";
  }
}

/** The device or image cannot be used. */
export class DeviceError extends Error {
  constructor(readonly device: string, message: string) {
    super(`${device}: ${message}`);
    this.name = "DeviceError";
  }
}

/** An fmap cannot be encoded under the chosen profile's rules. */
export class FmapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FmapError";
  }
}
