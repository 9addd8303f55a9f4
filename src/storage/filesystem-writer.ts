/**
 * The filesystem driver's FileWriter: appends in place to the file, which a crash leaves as a
 * prefix of what was written (an upload resumes from its size).
 */
import { closeSync, fstatSync, fsync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { FileWriter } from "./driver.ts";

/**
 * Appends with synchronous writes: a request body arrives in chunks of tens of KiB, and a
 * write into the page cache is cheaper than a hop to the thread pool; fsync, the slow part,
 * runs off the event loop. Cancel truncates back to the size at opening. Commit fsyncs the
 * file, not its directory: the registry's upload data was created before, and moving it into
 * place fsyncs the directory it lands in.
 */
export class FilesystemWriter implements FileWriter {
  private fd: number | null;
  private readonly startSize: number;
  private current: number;

  /** Opens (creating) `path` for appending; its parent must exist. */
  constructor(
    private readonly path: string,
    mode: number,
  ) {
    const fd = openSync(path, "a", mode);
    try {
      // the size of the file opened, not of whatever a path lookup before it saw
      this.startSize = fstatSync(fd).size;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
    this.current = this.startSize;
  }

  get size(): number {
    return this.current;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const fd = this.open();
    let offset = 0;
    while (offset < chunk.byteLength) {
      const written = writeSync(fd, chunk, offset, chunk.byteLength - offset);
      offset += written;
      this.current += written;
    }
  }

  async commit(): Promise<void> {
    const fd = this.open();
    // the callback form runs on the thread pool; a failed fsync leaves the writer open
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
    this.finish(fd);
  }

  async cancel(): Promise<void> {
    const fd = this.open();
    try {
      ftruncateSync(fd, this.startSize);
      this.current = this.startSize;
    } finally {
      this.finish(fd);
    }
  }

  async close(): Promise<void> {
    if (this.fd !== null) this.finish(this.fd);
  }

  private open(): number {
    if (this.fd === null) throw new Error(`Writer for ${this.path} is finished`);
    return this.fd;
  }

  private finish(fd: number): void {
    this.fd = null;
    closeSync(fd);
  }
}
