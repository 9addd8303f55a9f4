/**
 * Test data: random (incompressible) files written once to a temp directory, hashed while
 * they are generated, then streamed to the registries with Bun.file so no big blob is ever
 * held in memory.
 */
import { randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface BlobFile {
  path: string;
  size: number;
  /** "sha256:<hex>" */
  digest: string;
}

const CHUNK = 4 * 1024 * 1024;

/** Writes `size` random bytes to `path`, hashing as it goes. */
export function writeRandomFile(path: string, size: number): BlobFile {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(path, "w");
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(buffer.length, size - written);
      const chunk = buffer.subarray(0, n);
      randomFillSync(chunk);
      hasher.update(chunk);
      writeSync(fd, chunk);
      written += n;
    }
    // On disk before any timed phase: otherwise its writeback competes with the registry's own
    // writes, and only with a registry that fsyncs (Distribution does not).
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { path, size, digest: `sha256:${hasher.digest("hex")}` };
}

/** SHA-256 digest of an in-memory value (configs and manifests are small). */
export function digestOf(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/**
 * Unique random blobs by size, generated on first use and shared by both registries (each
 * group runs against an empty registry, so reusing a file never hits a registry's dedup).
 */
export class DataCache {
  private readonly files = new Map<string, BlobFile>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** The `index`-th distinct blob of `size` bytes. */
  blob(size: number, index: number): BlobFile {
    const key = `${size}-${index}`;
    let file = this.files.get(key);
    if (!file) {
      file = writeRandomFile(join(this.dir, `blob-${key}.bin`), size);
      this.files.set(key, file);
    }
    return file;
  }

  /** Pre-generates `count` blobs of `size` so generation stays out of timed phases. */
  prepare(size: number, count: number): BlobFile[] {
    return Array.from({ length: count }, (_, i) => this.blob(size, i));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
