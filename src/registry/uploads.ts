/**
 * Upload sessions: data streams to `_uploads/<id>/data` while it is hashed (on the hash
 * worker), so a finished upload is verified without reading the blob again. Sessions live on
 * disk and survive a restart; the running hash is rebuilt from the data after a restart.
 */
import { type Digest, formatDigest } from "../oci/digest.ts";
import { type FileWriter, PathNotFoundError, type StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import type { BlobStore } from "./blobs.ts";
import type { HashPool } from "./hash-pool.ts";
import { RegistryError, UploadOffsetMismatch } from "./errors.ts";
import { KeyedLock } from "./keyed-lock.ts";

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the hash worker holds for an upload. */
interface RunningHash {
  /** how many bytes of the data file the worker's hash has seen */
  bytes: number;
  /** the pool's generation when it started: a replaced worker lost it */
  generation: number;
}

export interface ContentRange {
  start: number;
  end: number;
}

/** Drops what a failed request appended; if even that fails, the offset is still the file's size. */
async function cancelQuietly(writer: FileWriter): Promise<void> {
  try {
    await writer.cancel();
  } catch {
    // e.g. the filesystem went read-only: what stays is still a consistent prefix
  }
}

export class UploadStore {
  private readonly hashes = new Map<string, RunningHash>();
  private readonly locks = new KeyedLock();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly pool: HashPool,
  ) {}

  async start(repository: string): Promise<string> {
    const id = crypto.randomUUID();
    try {
      // Not fsynced: nothing is promised about an upload until its data is committed.
      await this.driver.putContent(paths.uploadStartedAt(repository, id), new Date().toISOString(), { durable: false });
      await this.driver.putContent(paths.uploadData(repository, id), new Uint8Array(), { durable: false });
    } catch (error) {
      await this.driver.delete(paths.uploadDir(repository, id)).catch(() => undefined); // no half session
      throw error;
    }
    this.hashes.set(id, { bytes: 0, generation: this.pool.generation });
    return id;
  }

  /** Bytes received so far. @throws RegistryError BLOB_UPLOAD_UNKNOWN */
  async offset(repository: string, id: string): Promise<number> {
    this.assertId(id);
    try {
      return (await this.driver.stat(paths.uploadData(repository, id))).size;
    } catch (error) {
      if (error instanceof PathNotFoundError) throw this.unknown(id);
      throw error;
    }
  }

  /**
   * Appends a chunk. With a Content-Range, the chunk must start at the current offset.
   * @returns the new offset
   * @throws UploadOffsetMismatch (data unchanged), BLOB_UPLOAD_UNKNOWN, BLOB_UPLOAD_INVALID
   */
  async append(
    repository: string,
    id: string,
    body: ReadableStream<Uint8Array> | null,
    range: ContentRange | null,
  ): Promise<number> {
    return this.locks.run(id, async () => {
      const offset = await this.offset(repository, id);
      if (range && range.start !== offset) throw new UploadOffsetMismatch(repository, id, offset, range.start);
      return this.write(repository, id, body, range ? range.end - range.start + 1 : null);
    });
  }

  /**
   * Appends an optional last chunk, verifies the digest and moves the data into the blob
   * store, linked into the repository. On a wrong digest the upload is discarded.
   * `place` runs the move and link once the data is verified (the registry journals them).
   * Nothing here waits for the disk: the data, the move and the link are made durable together
   * by the one sync that ends the registry's index change, before the client is answered.
   * @returns the blob's size
   */
  async complete(
    repository: string,
    id: string,
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    place: (size: number, moveAndLink: () => Promise<void>) => Promise<void>,
  ): Promise<number> {
    return this.locks.run(id, async () => {
      await this.offset(repository, id);
      const size = await this.write(repository, id, body, null);
      const actual = await this.finalDigest(repository, id, digest.algorithm);
      if (actual !== digest.hex) {
        await this.discard(repository, id);
        throw new RegistryError("DIGEST_INVALID", {
          message: `Upload digest ${digest.algorithm}:${actual} does not match ${formatDigest(digest)}`,
          detail: { digest: formatDigest(digest) },
        });
      }
      await place(size, async () => {
        if ((await this.blobs.dataSize(digest)) === null) {
          await this.driver.move(paths.uploadData(repository, id), paths.blobData(digest), { durable: false });
        }
        await this.blobs.link(repository, digest);
      });
      await this.discard(repository, id);
      return size;
    });
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.offset(repository, id);
      await this.discard(repository, id);
    });
  }

  /** Removes uploads of `repository` started before `cutoff`; returns how many. */
  async purgeOlderThan(repository: string, cutoff: Date): Promise<number> {
    let purged = 0;
    for (const id of await this.driver.list(paths.uploadsRoot(repository))) {
      if (this.locks.isBusy(id) || !(await this.isStale(repository, id, cutoff))) continue;
      // under the upload's lock, so a chunk arriving now waits and then finds it gone
      const removed = await this.locks.run(id, async () => {
        if (!(await this.isStale(repository, id, cutoff))) return false;
        await this.discard(repository, id);
        return true;
      });
      if (removed) purged++;
    }
    return purged;
  }

  /** Started before `cutoff` (see uploadStartedAt); a session already gone is not. */
  private async isStale(repository: string, id: string, cutoff: Date): Promise<boolean> {
    const started = await uploadStartedAt(this.driver, repository, id);
    return started !== null && started < cutoff;
  }

  /**
   * Appends the body to the upload's data. A chunk with a Content-Range (`expectedLength`) is
   * all or nothing, so the client can resend it; so is every request that fails on the server's
   * side (a full disk), which must leave the offset where it was. A streamed chunk without a
   * range whose body is cut off keeps what arrived: the client asks for the offset and resumes.
   * @throws RegistryError BLOB_UPLOAD_INVALID when the body is cut off or its length is wrong;
   *   storage errors as they are (the API layer answers them 507/503)
   */
  private async write(
    repository: string,
    id: string,
    body: ReadableStream<Uint8Array> | null,
    expectedLength: number | null,
  ): Promise<number> {
    const path = paths.uploadData(repository, id);
    const hash = await this.runningHash(repository, id);
    const writer = await this.driver.writer(path);
    const start = writer.size;
    // set while waiting for the body: a failure then is the client's (it went away)
    let reading = false;
    try {
      if (body) {
        reading = true;
        // Bun hands each chunk over in its own buffer, so the hash worker can take it as is.
        // Gathering small chunks into larger buffers first was measured slower: the copy cost
        // more than the writes and messages it saved (docker's 32 KiB chunks: 2x the CPU).
        for await (const chunk of body) {
          reading = false;
          await writer.write(chunk);
          hash.bytes += chunk.byteLength;
          await this.pool.update(id, chunk); // transfers the chunk: written first
          // a body longer than its Content-Range is refused now, not after reading all of it
          if (expectedLength !== null && writer.size - start > expectedLength) break;
          reading = true;
        }
        reading = false;
        this.pool.flush(id);
      }
      const written = writer.size - start;
      if (expectedLength !== null && written !== expectedLength) {
        throw new RegistryError("BLOB_UPLOAD_INVALID", {
          message: `Content-Range announced ${expectedLength} bytes but the body had ${written > expectedLength ? "more" : written}`,
        });
      }
    } catch (error) {
      this.forgetHash(id); // rebuilt from the data on the next request
      const keepWhatArrived = reading && expectedLength === null;
      if (!keepWhatArrived) await cancelQuietly(writer);
      if (reading) {
        throw new RegistryError("BLOB_UPLOAD_INVALID", {
          message: `Upload body could not be read: ${(error as Error).message}`,
        });
      }
      throw error;
    } finally {
      await writer.close();
    }
    return writer.size;
  }

  /** The hash of the data so far, rebuilt from disk after a restart or a failed chunk. */
  private async runningHash(repository: string, id: string): Promise<RunningHash> {
    const size = await this.offset(repository, id);
    const known = this.hashes.get(id);
    if (known && known.bytes === size && known.generation === this.pool.generation) return known;
    this.forgetHash(id);
    const rebuilt: RunningHash = { bytes: 0, generation: this.pool.generation };
    this.hashes.set(id, rebuilt);
    for await (const chunk of this.driver.blob(paths.uploadData(repository, id)).stream()) {
      rebuilt.bytes += chunk.byteLength;
      await this.pool.update(id, chunk);
    }
    return rebuilt;
  }

  private forgetHash(id: string): void {
    if (this.hashes.delete(id)) this.pool.drop(id);
  }

  private async finalDigest(repository: string, id: string, algorithm: Digest["algorithm"]): Promise<string> {
    if (algorithm === "sha256") {
      const generation = this.pool.generation;
      await this.runningHash(repository, id);
      this.hashes.delete(id); // the worker forgets it once it answers
      try {
        const hex = await this.pool.digest(id);
        if (this.pool.generation === generation) return hex;
      } catch {
        // the worker failed: its hash is lost, not wrong; hash the data here instead
      }
    }
    // sha512 uploads are rare: hash them once at the end rather than twice while streaming.
    const hasher = new Bun.CryptoHasher(algorithm);
    for await (const chunk of this.driver.blob(paths.uploadData(repository, id)).stream()) hasher.update(chunk);
    return hasher.digest("hex");
  }

  private async discard(repository: string, id: string): Promise<void> {
    this.forgetHash(id);
    await this.driver.delete(paths.uploadDir(repository, id));
  }

  private assertId(id: string): void {
    if (!UPLOAD_ID.test(id)) throw this.unknown(id);
  }

  private unknown(id: string): RegistryError {
    return new RegistryError("BLOB_UPLOAD_UNKNOWN", {
      message: `Upload ${id.slice(0, 64)} is not known (finished, cancelled or purged)`,
      detail: { uuid: id.slice(0, 64) },
    });
  }
}

/**
 * When an upload session started: its startedat file (Distribution writes one too), else the
 * age of its folder; null when the session is gone.
 */
export async function uploadStartedAt(driver: StorageDriver, repository: string, id: string): Promise<Date | null> {
  try {
    const text = new TextDecoder().decode(await driver.getContent(paths.uploadStartedAt(repository, id)));
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  } catch (error) {
    if (!(error instanceof PathNotFoundError)) throw error;
  }
  try {
    return (await driver.stat(paths.uploadDir(repository, id))).modified;
  } catch (error) {
    if (error instanceof PathNotFoundError) return null;
    throw error;
  }
}
