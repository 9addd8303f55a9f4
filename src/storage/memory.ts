/**
 * In-memory storage driver: the whole contract, kept in one map from path to file, as an object
 * store keeps keys. Directories exist only through the files below them. For tests (the API
 * runs over it in-process) and for trying Berth out; nothing survives the process.
 */
import {
  type FileInfo,
  type FileWriter,
  type HealthChecks,
  PathNotFoundError,
  type StorageDriver,
  type WalkEntry,
} from "./driver.ts";

/** One version of a file. Never changed once stored: a write stores a new one. */
interface StoredFile {
  /** the bytes, in parts (appending does not copy what is there); the driver's own copies */
  readonly parts: readonly Uint8Array<ArrayBuffer>[];
  readonly size: number;
  readonly modified: Date;
}

const encoder = new TextEncoder();

function concatenate(file: StoredFile): Uint8Array {
  const bytes = new Uint8Array(file.size);
  let offset = 0;
  for (const part of file.parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return bytes;
}

/** "a/b" -> "a/b/", "" (the root) -> "": what every path below it starts with */
function prefixOf(path: string): string {
  return path === "" ? "" : `${path}/`;
}

export class InMemoryDriver implements StorageDriver {
  private readonly files = new Map<string, StoredFile>();

  async getContent(path: string): Promise<Uint8Array> {
    return concatenate(this.file(path));
  }

  async putContent(path: string, content: Uint8Array | string): Promise<void> {
    // a copy: the caller may reuse its buffer; one map update is the atomic rename
    const bytes = typeof content === "string" ? encoder.encode(content) : new Uint8Array(content); // a copy (slice() of a Buffer would be a view)
    this.files.set(path, { parts: [bytes], size: bytes.byteLength, modified: new Date() });
  }

  async stat(path: string): Promise<FileInfo> {
    const file = this.files.get(path);
    if (file) return { size: file.size, modified: file.modified, isDirectory: false };
    // a directory: when the newest file below it changed, as near as an object store gets
    let modified: Date | null = null;
    for (const entry of this.below(path)) {
      if (modified === null || entry.modified > modified) modified = entry.modified;
    }
    if (modified === null) throw new PathNotFoundError(path);
    return { size: 0, modified, isDirectory: true };
  }

  async list(path: string): Promise<string[]> {
    const prefix = prefixOf(path);
    const names = new Set<string>();
    for (const key of this.files.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf("/");
      names.add(slash === -1 ? rest : rest.slice(0, slash));
    }
    return [...names].sort();
  }

  async *walk(path: string): AsyncGenerator<WalkEntry> {
    // a snapshot: what the walk yields is the tree as it was when it began
    yield* this.below(path);
  }

  async move(from: string, to: string): Promise<void> {
    const file = this.file(from);
    if (from === to) return;
    this.files.set(to, file);
    this.files.delete(from);
  }

  /** Nothing here outlives the process: every write is as durable as it can be at once. */
  async sync(): Promise<void> {}

  async delete(path: string): Promise<void> {
    const prefix = prefixOf(path);
    for (const key of [...this.files.keys()]) {
      if (key === path || key.startsWith(prefix)) this.files.delete(key);
    }
  }

  async writer(path: string): Promise<FileWriter> {
    let file = this.files.get(path);
    if (!file) {
      file = { parts: [], size: 0, modified: new Date() };
      this.files.set(path, file);
    }
    return new InMemoryWriter(path, file, this.files);
  }

  blob(path: string): Blob {
    // Blob copies its parts: a later write does not change a Blob already handed out
    return new Blob([...this.file(path).parts]);
  }

  async health(): Promise<HealthChecks> {
    return { storage_root: "ok", storage_writable: "ok" };
  }

  /** @throws PathNotFoundError */
  private file(path: string): StoredFile {
    const file = this.files.get(path);
    if (!file) throw new PathNotFoundError(path);
    return file;
  }

  private below(path: string): WalkEntry[] {
    const prefix = prefixOf(path);
    const entries: WalkEntry[] = [];
    for (const [key, file] of this.files) {
      if (key.startsWith(prefix) && key !== path) entries.push({ path: key, size: file.size, modified: file.modified });
    }
    return entries;
  }
}

/**
 * Keeps what is written aside, as an object store's multipart upload does, and stores the file
 * as opened plus the new parts as a new version when closed or committed. A file replaced or
 * deleted meanwhile is not brought back, as writes to an unlinked file vanish.
 */
class InMemoryWriter implements FileWriter {
  private readonly pending: Uint8Array<ArrayBuffer>[] = [];
  private appended = 0;
  private finished = false;

  constructor(
    private readonly path: string,
    private readonly opened: StoredFile,
    private readonly files: Map<string, StoredFile>,
  ) {}

  get size(): number {
    return this.opened.size + this.appended;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    this.pending.push(new Uint8Array(chunk)); // a copy: the caller may reuse or transfer its buffer (slice() of a Buffer is a view)
    this.appended += chunk.byteLength;
  }

  async commit(): Promise<void> {
    this.assertOpen();
    this.finish(true);
  }

  async cancel(): Promise<void> {
    this.assertOpen();
    this.finish(false);
  }

  async close(): Promise<void> {
    if (!this.finished) this.finish(true);
  }

  private finish(keep: boolean): void {
    this.finished = true;
    if (!keep) {
      this.pending.length = 0;
      this.appended = 0;
    }
    if (this.appended === 0 || this.files.get(this.path) !== this.opened) return;
    const parts = [...this.opened.parts, ...this.pending];
    this.files.set(this.path, { parts, size: this.size, modified: new Date() });
  }

  private assertOpen(): void {
    if (this.finished) throw new Error(`Writer for ${this.path} is finished`);
  }
}
