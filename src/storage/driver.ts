/**
 * The storage driver: bytes and paths only. Paths are relative to the driver's root and
 * use "/" (see paths.ts). A filesystem driver exists; an S3 driver can implement the same.
 */

export class PathNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`Path not found: ${path}`);
    this.name = "PathNotFoundError";
  }
}

/** Each check's name mapped to "ok" or what is wrong. */
export type HealthChecks = Record<string, string>;

export interface FileInfo {
  size: number;
  modified: Date;
  isDirectory: boolean;
}

/** An append-only writer for upload data; nothing is durable until `commit`. */
export interface FileWriter {
  readonly size: number;
  write(chunk: Uint8Array): void;
  /** drops everything written after `size` (a chunk that turned out wrong) */
  truncate(size: number): void;
  /** flush and fsync: after it resolves, the bytes survive a crash */
  commit(): Promise<void>;
  close(): Promise<void>;
}

export interface StorageDriver {
  /** @throws PathNotFoundError */
  getContent(path: string): Promise<Uint8Array>;
  /**
   * Atomic (readers see the old or the new content) and, unless `durable` is false, durable
   * when it resolves. Non-durable writes suit state that a crash may lose (a new upload).
   */
  putContent(path: string, content: Uint8Array | string, options?: { durable?: boolean }): Promise<void>;
  /** @throws PathNotFoundError */
  stat(path: string): Promise<FileInfo>;
  /** names of the direct children of a directory (not temp files); [] when it does not exist */
  list(path: string): Promise<string[]>;
  /** atomic and durable rename; creates the destination's parents */
  move(from: string, to: string): Promise<void>;
  /** removes a file or a directory tree; no error when absent */
  delete(path: string): Promise<void>;
  /** opens a writer appending to `path` (created if absent) */
  writer(path: string): Promise<FileWriter>;
  /** a lazily read Blob of the file, served with sendfile where the platform allows */
  blob(path: string): Blob;
  /** a real local path where the driver has one (for `Bun.file`), else undefined */
  localPath?(path: string): string;
  /** can the storage still be written, and is it the storage Berth started on? */
  health(): Promise<HealthChecks>;
}
