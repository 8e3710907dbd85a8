/** Opening a famfs device (DAX char device or a regular image file) through libc and mmap. */
import * as libc from "../fuse/libc.ts";
import { DeviceError } from "./errors.ts";

export interface Device {
  path: string;
  fd: number;
  size: number;
  isChar: boolean;
  rdev: bigint;
  map: libc.Mapping;
}

/** Size of a DAX char device from sysfs, or of a regular file. */
export function deviceSize(
  path: string,
): { size: number; isChar: boolean; rdev: bigint } {
  const st = libc.statPath(path);
  if (!st) throw new DeviceError(path, "does not exist");
  const type = st.mode & libc.S_IFMT;
  if (type === libc.S_IFREG) return { size: st.size, isChar: false, rdev: 0n };
  if (type !== libc.S_IFCHR) {
    throw new DeviceError(
      path,
      "is neither a DAX character device nor a regular image file",
    );
  }
  const sys = `/sys/dev/char/${libc.devMajor(st.rdev)}:${libc.devMinor(st.rdev)}/size`;
  try {
    const size = Number(new TextDecoder().decode(libc.readFileFfi(sys)).trim());
    return { size, isChar: true, rdev: st.rdev };
  } catch (e) {
    throw new DeviceError(
      path,
      `cannot read its size from ${sys}: ${(e as Error).message}`,
    );
  }
}

/** Opens and maps the whole device (shared, read-write unless `readOnly`). */
export function openDevice(path: string, readOnly = false): Device {
  const { size, isChar, rdev } = deviceSize(path);
  if (size < 16 << 20) {
    throw new DeviceError(
      path,
      `is ${size} bytes; famfs needs at least 16 MiB`,
    );
  }
  let fd: number;
  try {
    fd = libc.open(
      path,
      (readOnly ? libc.O_RDONLY : libc.O_RDWR) | libc.O_CLOEXEC,
    );
  } catch (e) {
    throw new DeviceError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const map = libc.mmapFd(fd, size, !readOnly, path);
    return { path, fd, size, isChar, rdev, map };
  } catch (e) {
    libc.close(fd);
    throw new DeviceError(
      path,
      `cannot mmap (a device bound to fsdev_dax has no mmap; use the daemon's .meta files): ${(e as Error).message}`,
    );
  }
}

export function closeDevice(d: Device): void {
  libc.msync(d.map);
  libc.munmap(d.map);
  libc.close(d.fd);
}

/** A Uint8Array over memory owned elsewhere in this process (pointer value as a decimal string). */
export function viewOf(
  ptr: bigint,
  len: number,
): { bytes: Uint8Array<ArrayBuffer>; ptr: Deno.PointerObject } {
  const p = Deno.UnsafePointer.create(ptr);
  if (!p) throw new DeviceError("<memory>", "null pointer");
  return {
    bytes: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len)),
    ptr: p,
  };
}
