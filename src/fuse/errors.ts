/** Typed errors of the generic FUSE core. */

/** A libc call made through FFI failed. */
export class LibcError extends Error {
  constructor(readonly call: string, readonly errno: number, detail: string) {
    super(`${call} failed (errno ${errno}): ${detail}`);
    this.name = "LibcError";
  }
}

/** A request from the kernel could not be decoded. */
export class FuseDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuseDecodeError";
  }
}

/** The kernel's INIT offer does not fit what the server needs. */
export class FuseInitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuseInitError";
  }
}

/** Mounting or unmounting failed. */
export class FuseMountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuseMountError";
  }
}

/** Handlers throw this to answer a request with an errno. */
export class FuseErrnoError extends Error {
  constructor(readonly errno: number, message?: string) {
    super(message ?? `errno ${errno}`);
    this.name = "FuseErrnoError";
  }
}
