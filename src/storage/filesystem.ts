/**
 * Filesystem storage driver. Every write goes to a temporary file and is renamed into place.
 * A durable one is fsynced before the rename and its directory after; a relaxed one
 * (`durable: false`) is made durable later by `sync`, one syncfs for every write before it
 * (sync-barrier.ts). A write that fails (a full disk) removes its temp file and the empty
 * directories it made.
 *
 * Small metadata operations (stat, mkdir, rename, a link file's read and write) are made on the
 * event loop's thread: on a local disk they take microseconds, less than the hop to the file-
 * system thread pool, and 16 concurrent pushes queued them behind Bun's few pool threads. What
 * waits for the disk (fsync), walks a tree or removes one stays off the event loop.
 */
import { closeSync, fsync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { open, readdir, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CONDITION_MESSAGES, errnoCode, StorageRootMissingError, storageCondition } from "./conditions.ts";
import {
  type FileInfo,
  type FileWriter,
  type HealthChecks,
  PathNotFoundError,
  type StorageDriver,
  type WalkEntry,
} from "./driver.ts";
import { FilesystemWriter } from "./filesystem-writer.ts";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "./modes.ts";
import { isBerthState, paths } from "./paths.ts";
import { type SyncBarrier, syncBarrierFor } from "./sync-barrier.ts";
import { sweepTempFiles, tempPathFor } from "./temp-files.ts";

/** Dot-files are Berth's temp files (tempPathFor); the layout itself has none. */
function isListed(name: string): boolean {
  return !name.startsWith(".");
}

function isNotFound(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

/** On the thread pool (the callback form): an fsync must not stop the event loop. */
function fsyncDescriptor(fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes directories a failed write created (deepest first), unless something is in them now. */
async function removeEmptyDirectories(created: readonly string[]): Promise<void> {
  for (const directory of [...created].reverse()) {
    try {
      await rmdir(directory);
    } catch {
      return; // not empty (a concurrent write uses it) or already gone: keep its parents too
    }
  }
}

/**
 * Modes of new files and directories: the process umask (storage.mode) decides for the
 * registry's data; Berth's own state under berth/ is private whatever the umask allows.
 */
function modesFor(path: string): { file: number; directory: number } {
  return isBerthState(path) ? { file: PRIVATE_FILE_MODE, directory: PRIVATE_DIRECTORY_MODE } : { file: 0o666, directory: 0o777 };
}

export class FilesystemDriver implements StorageDriver {
  readonly root: string;
  /** the root Berth started on: one moved away and recreated empty is not it */
  private readonly identity: { dev: bigint; ino: bigint };
  /** temp files being written now, which the sweeper must leave alone */
  private readonly writing = new Set<string>();
  private readonly barrier: SyncBarrier;

  /** @throws Error when `root` does not exist */
  constructor(root: string) {
    this.root = resolve(root);
    const info = statSync(this.root, { bigint: true });
    this.identity = { dev: info.dev, ino: info.ino };
    this.barrier = syncBarrierFor(this.root);
  }

  sync(): Promise<void> {
    return this.barrier.sync();
  }

  localPath(path: string): string {
    return join(this.root, path);
  }

  async getContent(path: string): Promise<Uint8Array> {
    try {
      return readFileSync(this.localPath(path));
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path);
      throw error;
    }
  }

  async putContent(path: string, content: Uint8Array | string, options: { durable?: boolean } = {}): Promise<void> {
    const durable = options.durable ?? true;
    const target = this.localPath(path);
    const directory = dirname(target);
    const modes = modesFor(path);
    const created = await this.makeDirectory(directory, durable, modes.directory);
    const temp = tempPathFor(target);
    this.writing.add(temp);
    try {
      const fd = openSync(temp, "w", modes.file);
      try {
        const bytes = typeof content === "string" ? Buffer.from(content) : content;
        for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
        if (durable) await fsyncDescriptor(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, target);
      if (durable) await fsyncDirectory(directory);
    } catch (error) {
      rmSync(temp, { force: true });
      await removeEmptyDirectories(created);
      throw error;
    } finally {
      this.writing.delete(temp);
    }
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const info = statSync(this.localPath(path));
      return { size: info.size, modified: info.mtime, isDirectory: info.isDirectory() };
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path);
      throw error;
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      return readdirSync(this.localPath(path)).filter(isListed);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  /** Depth first; a directory or file removed while the walk runs is skipped. */
  async *walk(path: string): AsyncGenerator<WalkEntry> {
    const pending = [path];
    for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
      let entries;
      try {
        entries = await readdir(this.localPath(directory), { withFileTypes: true });
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      for (const entry of entries) {
        if (!isListed(entry.name)) continue;
        const child = directory === "" ? entry.name : `${directory}/${entry.name}`;
        if (entry.isDirectory()) {
          pending.push(child);
          continue;
        }
        try {
          const info = await stat(this.localPath(child)); // follows a link to a file, never descends one
          if (info.isFile()) yield { path: child, size: info.size, modified: info.mtime };
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
  }

  async move(from: string, to: string, { durable = true }: { durable?: boolean } = {}): Promise<void> {
    const target = this.localPath(to);
    const created = await this.makeDirectory(dirname(target), durable, modesFor(to).directory);
    try {
      renameSync(this.localPath(from), target);
    } catch (error) {
      await removeEmptyDirectories(created);
      if (isNotFound(error)) throw new PathNotFoundError(from);
      throw error;
    }
    if (durable) await fsyncDirectory(dirname(target));
  }

  async delete(path: string): Promise<void> {
    await rm(this.localPath(path), { recursive: true, force: true });
  }

  async writer(path: string): Promise<FileWriter> {
    const target = this.localPath(path);
    const modes = modesFor(path);
    await this.makeDirectory(dirname(target), false, modes.directory);
    return new FilesystemWriter(target, modes.file);
  }

  blob(path: string): Blob {
    return Bun.file(this.localPath(path));
  }

  /**
   * storage_root: the root is still the directory Berth started on; storage_writable: a probe
   * file can be written, fsynced and removed.
   */
  async health(): Promise<HealthChecks> {
    const root = await this.rootProblem();
    if (root !== null) return { storage_root: root, storage_writable: "not checked: the storage root failed" };
    try {
      await this.putContent(paths.healthProbe(), new Date().toISOString());
      await this.delete(paths.healthProbe());
      return { storage_root: "ok", storage_writable: "ok" };
    } catch (error) {
      // the code only: /healthz is public, and the message would show paths
      const condition = storageCondition(error);
      const code = errnoCode(error) ?? "error";
      return { storage_root: "ok", storage_writable: condition ? `${CONDITION_MESSAGES[condition]} (${code})` : `write failed (${code})` };
    }
  }

  /** Removes temp files left by crashes (see temp-files.ts); returns how many. */
  sweepTempFiles(olderThan: Date): Promise<number> {
    return sweepTempFiles({
      directories: [join(this.root, "docker"), join(this.root, paths.berthRoot())],
      cutoff: olderThan,
      isWriting: (path) => this.writing.has(path),
    });
  }

  private async rootProblem(): Promise<string | null> {
    try {
      const info = statSync(this.root, { bigint: true });
      if (!info.isDirectory()) return "the storage root is not a directory";
      if (info.dev !== this.identity.dev || info.ino !== this.identity.ino) {
        return "the storage root is not the directory Berth started on (moved away or replaced); put it back or restart Berth";
      }
      return null;
    } catch (error) {
      return isNotFound(error) ? "the storage root is missing" : `the storage root cannot be read (${errnoCode(error) ?? "error"})`;
    }
  }

  /**
   * mkdir -p below the root, never of the root itself, and only in the root Berth started on: a
   * root that was moved away must not come back empty under Berth's feet. When durable, also
   * fsyncs the parent of every directory it created, so that a new directory entry (a new
   * blob's folder, a new tag) survives a power cut, not just its file. Returns the directories
   * it created, top first.
   * @throws StorageRootMissingError
   */
  private async makeDirectory(path: string, durable: boolean, mode: number): Promise<string[]> {
    const created: string[] = [];
    const missing: string[] = [];
    // walk up to the first directory that exists: one mkdir (EEXIST) in the common case
    for (let directory = path; ; directory = dirname(directory)) {
      if (directory === this.root || dirname(directory) === directory) break;
      try {
        mkdirSync(directory, { mode });
        created.push(directory);
        break;
      } catch (error) {
        const code = errnoCode(error);
        if (code === "EEXIST") break;
        if (code === "ENOTDIR" && (await this.rootProblem()) !== null) throw new StorageRootMissingError(this.root);
        if (code !== "ENOENT") throw error;
        missing.push(directory);
      }
    }
    try {
      // a new directory in a root that was replaced (an empty one made after a move) would
      // split the registry's data: refuse
      if ((created.length > 0 || missing.length > 0) && (await this.rootProblem()) !== null) {
        throw new StorageRootMissingError(this.root);
      }
      for (const directory of missing.reverse()) {
        try {
          mkdirSync(directory, { mode });
          created.push(directory);
        } catch (error) {
          if (errnoCode(error) !== "EEXIST") throw error; // made meanwhile by a concurrent write
        }
      }
      if (durable) for (const directory of created) await fsyncDirectory(dirname(directory));
    } catch (error) {
      await removeEmptyDirectories(created);
      throw error;
    }
    return created;
  }
}
