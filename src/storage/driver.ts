/**
 * The storage driver contract: bytes and paths only. Paths are relative to the driver's root
 * and use "/" (see paths.ts; "" is the root). Directories are implied by the files below them,
 * as in an object store: a driver need not keep empty ones. The filesystem driver, the
 * in-memory driver, and an object store (S3) implement it; every driver passes the shared
 * suite in tests/storage/driver-suite.ts, so the registry works over any of them unchanged.
 */

/** Thrown (by getContent, stat, move, blob) when nothing is stored at `path`. */
export class PathNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`Path not found: ${path}`);
    this.name = "PathNotFoundError";
  }
}

/** Each check's name mapped to "ok" or what is wrong. */
export type HealthChecks = Record<string, string>;

export interface FileInfo {
  /** bytes in a file; meaningless for a directory */
  size: number;
  /** a file's last write; for a directory, the driver's best notion of when it last changed */
  modified: Date;
  isDirectory: boolean;
}

/** A file found by `walk`. */
export interface WalkEntry {
  /** relative to the driver's root, "/"-separated, like every path given to a driver */
  path: string;
  size: number;
  modified: Date;
}

/**
 * Appends to one file, resuming at the end of its content when opened. One writer per path at
 * a time (the registry serialises an upload's requests); concurrent writers to different
 * paths are independent.
 *
 * A writer is finished by exactly one of `commit`, `cancel` or `close`; after that `write`,
 * `commit` and `cancel` throw, and `close` does nothing (so `finally { await w.close() }` is
 * always safe). What was written is visible at the path at the latest when the writer is
 * finished; a driver may show it earlier (the filesystem appends in place), or only then (an
 * object store's multipart upload).
 */
export interface FileWriter {
  /** bytes in the file, including what this writer has appended */
  readonly size: number;
  /**
   * Appends `chunk`. The driver has copied or written it when the promise resolves: the caller
   * may reuse or transfer the buffer then. On a failure (a full disk) part of the chunk may
   * have been appended; `size` counts what was, and the writer stays open (cancel it).
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Keeps everything written, durably: when it resolves the bytes survive a crash. Finishes
   * the writer. If it rejects, the writer is still open: cancel or close it.
   */
  commit(): Promise<void>;
  /**
   * Drops what this writer appended: the file is back at the size it had when the writer was
   * opened (bytes of earlier writers stay). Finishes the writer, even when it rejects (then
   * part of what was appended may remain, still a prefix of what was written).
   */
  cancel(): Promise<void>;
  /** Keeps what was written, without a durability promise. Finishes the writer. */
  close(): Promise<void>;
}

export interface StorageDriver {
  /** @throws PathNotFoundError */
  getContent(path: string): Promise<Uint8Array>;
  /**
   * Writes the whole file, creating its parents. Atomic (readers see the old or the new
   * content, never a part) and, unless `durable` is false, durable when it resolves.
   * Non-durable writes suit state that a crash may lose (a new upload).
   */
  putContent(path: string, content: Uint8Array | string, options?: { durable?: boolean }): Promise<void>;
  /** A file or a directory (one with something below it). @throws PathNotFoundError */
  stat(path: string): Promise<FileInfo>;
  /**
   * Names of the direct children of a directory, files and directories alike, never a temp
   * object of a write in progress or left by a crash; [] when it does not exist.
   */
  list(path: string): Promise<string[]>;
  /**
   * Every file below `path`, recursively, in no particular order; never a temp object; nothing
   * when `path` does not exist or is a file. Bounded by the tree itself (symbolic links to
   * directories are not followed).
   */
  walk(path: string): AsyncIterable<WalkEntry>;
  /**
   * Moves a file, atomically, replacing what is at `to` and creating its parents; durable when
   * it resolves unless `durable` is false.
   * @throws PathNotFoundError (for `from`) when there is nothing to move
   */
  move(from: string, to: string, options?: { durable?: boolean }): Promise<void>;
  /** Removes a file or a directory tree; no error when absent. */
  delete(path: string): Promise<void>;
  /**
   * Makes every change made before the call durable: writes and moves made with `durable`
   * false, deletes, a writer's bytes. Callers that write many files and then acknowledge them
   * (a push) pay one flush for all of them, shared with concurrent callers.
   */
  sync(): Promise<void>;
  /** Opens a writer appending to `path` (an empty file is created if absent, with its parents). */
  writer(path: string): Promise<FileWriter>;
  /**
   * The file as a Blob read lazily (sendfile where the platform allows; an S3File is a Blob
   * too, whose `size` is NaN until read: stat gives it, and a Response must get its stream(),
   * as a Response of an S3File redirects). Reading a Blob of a missing file rejects; a driver
   * may throw PathNotFoundError here already.
   */
  blob(path: string): Blob;
  /**
   * A URL the client may fetch the file from itself (an object store's presigned GET), when
   * the driver is configured to redirect downloads; else null or absent.
   */
  redirectUrl?(path: string): string | null;
  /** A real local path where the driver has one (for `Bun.file`), else absent. */
  localPath?(path: string): string;
  /** Can the storage still be written, and is it the storage Berth started on? */
  health(): Promise<HealthChecks>;
  /**
   * Removes temp files left by crashes that are older than `olderThan`; returns how many.
   * Only drivers whose temp objects can outlive a crash have it (the filesystem).
   */
  sweepTempFiles?(olderThan: Date): Promise<number>;
}
