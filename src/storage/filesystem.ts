/**
 * Filesystem storage driver. Every write that must survive a crash goes to a temporary
 * file, is fsynced, renamed into place, and the directory is fsynced.
 */
import { closeSync, fsync, ftruncateSync, openSync, writeSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type FileInfo, type FileWriter, PathNotFoundError, type StorageDriver } from "./driver.ts";

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * mkdir -p; when durable, also fsyncs the parent of every directory it created, so that a
 * new directory entry (a new blob's folder, a new tag) survives a power cut, not just its file.
 */
async function makeDirectory(path: string, durable: boolean): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (!durable || first === undefined) return;
  for (let created = path; ; created = dirname(created)) {
    await fsyncDirectory(dirname(created));
    if (created === first || dirname(created) === created) break;
  }
}

let tempCounter = 0;

/** Temp files are dot-files beside their target: no lister of the layout ever sees them. */
function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${++tempCounter}`);
}

export class FilesystemDriver implements StorageDriver {
  constructor(readonly root: string) {}

  localPath(path: string): string {
    return join(this.root, path);
  }

  async getContent(path: string): Promise<Uint8Array> {
    try {
      return await readFile(this.localPath(path));
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path);
      throw error;
    }
  }

  async putContent(path: string, content: Uint8Array | string, options: { durable?: boolean } = {}): Promise<void> {
    const durable = options.durable ?? true;
    const target = this.localPath(path);
    const directory = dirname(target);
    await makeDirectory(directory, durable);
    const temp = tempPathFor(target);
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(content);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    if (durable) await fsyncDirectory(directory);
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const info = await stat(this.localPath(path));
      return { size: info.size, modified: info.mtime, isDirectory: info.isDirectory() };
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path);
      throw error;
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      // dot-files are Berth's temp files (tempPathFor); the layout itself has none
      return (await readdir(this.localPath(path))).filter((name) => !name.startsWith("."));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.localPath(to);
    await makeDirectory(dirname(target), true);
    try {
      await rename(this.localPath(from), target);
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(from);
      throw error;
    }
    await fsyncDirectory(dirname(target));
  }

  async delete(path: string): Promise<void> {
    await rm(this.localPath(path), { recursive: true, force: true });
  }

  async writer(path: string): Promise<FileWriter> {
    const target = this.localPath(path);
    await mkdir(dirname(target), { recursive: true });
    const size = await stat(target).then((s) => s.size, () => 0);
    return new FilesystemWriter(target, size);
  }

  blob(path: string): Blob {
    return Bun.file(this.localPath(path));
  }
}

/**
 * Appends with synchronous writes: a request body arrives in chunks of tens of KiB, and a
 * write into the page cache is cheaper than a hop to the thread pool; fsync, the slow part,
 * runs off the event loop.
 */
class FilesystemWriter implements FileWriter {
  private fd: number | null;

  constructor(
    private readonly path: string,
    public size: number,
  ) {
    this.fd = openSync(path, "a");
  }

  write(chunk: Uint8Array): void {
    if (this.fd === null) throw new Error(`Writer for ${this.path} is closed`);
    let offset = 0;
    while (offset < chunk.byteLength) {
      offset += writeSync(this.fd, chunk, offset, chunk.byteLength - offset);
    }
    this.size += chunk.byteLength;
  }

  truncate(size: number): void {
    if (this.fd === null) throw new Error(`Writer for ${this.path} is closed`);
    ftruncateSync(this.fd, size);
    this.size = size;
  }

  async commit(): Promise<void> {
    if (this.fd === null) throw new Error(`Writer for ${this.path} is closed`);
    const fd = this.fd;
    // the callback form runs on the thread pool
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  }

  async close(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
