/**
 * One writer per storage root: `serve` holds an exclusive flock(2) on `<root>/berth/lock`
 * for as long as it runs. The kernel releases it when the process dies, however it dies, so
 * a stale file after kill -9 blocks nothing and a recycled PID cannot fool it. The file holds
 * the PID only so that a second process can say who has the root.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "./modes.ts";
import { paths } from "./paths.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = new Set([11, 35]); // Linux, macOS

export class RootLockedError extends Error {
  constructor(
    readonly root: string,
    readonly pid: number | null,
  ) {
    super(
      `Storage root ${root} is in use by another Berth process (${pid === null ? "PID unknown" : `PID ${pid}`}); ` +
        "stop it first: one process per storage root",
    );
    this.name = "RootLockedError";
  }
}

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
}

function loadLibc(): Libc | null {
  const errnoSymbol = process.platform === "darwin" ? "__error" : "__errno_location";
  const names = process.platform === "darwin" ? ["libc.dylib"] : ["libc.so.6", "libc.so"];
  for (const name of names) {
    try {
      const lib = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [errnoSymbol]: { args: [], returns: FFIType.ptr },
      });
      const errnoLocation = lib.symbols[errnoSymbol];
      if (!errnoLocation) continue;
      return {
        flock: (fd, operation) => lib.symbols.flock(fd, operation),
        errno: () => {
          const pointer = errnoLocation();
          return pointer === null ? 0 : read.i32(pointer, 0);
        },
      };
    } catch {
      // not this name on this system
    }
  }
  return null;
}

export interface RootLock {
  /** the lock file */
  path: string;
  /** false where no lock could be taken: no flock (no libc to load), or a read-only root without a lock file */
  held: boolean;
}

/** Runs `fn` unless the filesystem is read-only: a read-only root can still be served for pulls. */
function unlessReadOnly(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EROFS") throw error;
  }
}

/**
 * Takes the root's lock for the life of the process (the descriptor stays open; the kernel
 * drops the lock at exit). Also makes `<root>/berth/` private (0700).
 * @throws RootLockedError when another process holds it; Error when the file cannot be opened
 */
export function lockStorageRoot(root: string): RootLock {
  const directory = join(root, paths.berthRoot());
  const path = join(root, paths.rootLock());
  let fd: number;
  try {
    mkdirSync(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    unlessReadOnly(() => chmodSync(directory, PRIVATE_DIRECTORY_MODE)); // a berth/ made by an older version
    // read-only: flock needs no write access, and a file open for writing would keep the
    // filesystem from being remounted read-only
    fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EROFS") return { path, held: false };
    throw error;
  }
  const libc = loadLibc();
  if (libc === null) {
    closeSync(fd);
    return { path, held: false };
  }
  if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = libc.errno();
    closeSync(fd);
    if (EWOULDBLOCK.has(errno)) throw new RootLockedError(root, holderOf(path));
    throw new Error(`Cannot lock the storage root: flock(${path}) failed with errno ${errno}`);
  }
  unlessReadOnly(() => {
    writeFileSync(path, `${process.pid}\n`, { mode: PRIVATE_FILE_MODE });
    chmodSync(path, PRIVATE_FILE_MODE);
  });
  return { path, held: true };
}

function holderOf(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
