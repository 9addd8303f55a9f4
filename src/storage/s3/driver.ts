/**
 * The S3 storage driver (AWS S3, Ceph RGW, MinIO, ...), on Bun.S3Client plus a few signed
 * requests of its own (requests.ts). Keys are Distribution's layout under `prefix`, as its S3
 * driver writes them (`<prefix>/docker/registry/v2/...`), so either serves the other's bucket.
 *
 * S3 gives what the contract asks without help: a PutObject or a completed multipart upload
 * replaces an object at once (readers see the old or the new one), and a write is durable
 * when it is acknowledged (sync has nothing to do). Directories are key prefixes. Nothing is
 * ever written beside its final key (no temp objects): a writer's parts are invisible until
 * its upload completes.
 */
import { type FileInfo, type FileWriter, type HealthChecks, PathNotFoundError, type StorageDriver, type WalkEntry } from "../driver.ts";
import { copyRanges, S3Writer } from "./writer.ts";
import { S3RequestError, S3Requests } from "./requests.ts";
import type { S3Settings } from "./settings.ts";
import { paths } from "../paths.ts";

const GiB = 1024 * 1024 * 1024;
/** S3's limit on one CopyObject and on one UploadPartCopy */
const MAX_COPY = 5 * GiB;
/** deletes sent at once when removing a tree */
const DELETES_IN_FLIGHT = 16;
/** presigned URLs for redirected blob GETs last this long */
const PRESIGN_SECONDS = 20 * 60;

export interface S3DriverOptions {
  /** the largest single copy (tests lower it to exercise multipart copies without 5 GiB) */
  maxCopy?: number;
}

function errorCode(error: unknown): string {
  if (error instanceof S3RequestError) return error.code;
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : "error";
}

function isNotFound(error: unknown): boolean {
  if (error instanceof S3RequestError) return error.status === 404;
  if (!(error instanceof Error)) return false;
  const code = "code" in error ? error.code : undefined;
  return code === "NoSuchKey" || code === "NotFound" || code === "ERR_S3_FILE_NOT_FOUND";
}

export class S3Driver implements StorageDriver {
  private readonly client: Bun.S3Client;
  readonly requests: S3Requests;
  private readonly maxCopy: number;

  constructor(
    private readonly settings: S3Settings,
    options: S3DriverOptions = {},
  ) {
    this.client = new Bun.S3Client({
      bucket: settings.bucket,
      region: settings.region,
      endpoint: settings.endpoint,
      accessKeyId: settings.accessKey,
      secretAccessKey: settings.secretKey,
      virtualHostedStyle: !settings.pathStyle,
      partSize: Math.max(settings.chunkSize, 5 * 1024 * 1024),
    });
    this.requests = new S3Requests(settings);
    this.maxCopy = options.maxCopy ?? MAX_COPY;
  }

  /** the object key of a driver path ("" = the root: the prefix itself) */
  private key(path: string): string {
    const { prefix } = this.settings;
    if (prefix === "") return path;
    return path === "" ? prefix : `${prefix}/${path}`;
  }

  /** what every key below a directory starts with */
  private below(path: string): string {
    const key = this.key(path);
    return key === "" ? "" : `${key}/`;
  }

  async getContent(path: string): Promise<Uint8Array> {
    try {
      return await this.client.file(this.key(path)).bytes();
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path);
      throw error;
    }
  }

  async putContent(path: string, content: Uint8Array | string): Promise<void> {
    await this.client.write(this.key(path), content);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path !== "") {
      try {
        const stat = await this.client.stat(this.key(path));
        return { size: stat.size, modified: stat.lastModified, isDirectory: false };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const page = await this.client.list({ prefix: this.below(path), maxKeys: 1 });
    const first = page.contents?.[0];
    if (first === undefined) throw new PathNotFoundError(path);
    // a directory: as near as a listing of one key gets to when it changed
    return { size: 0, modified: new Date(first.lastModified ?? 0), isDirectory: true };
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.below(path);
    const names = new Set<string>();
    let continuationToken: string | undefined;
    do {
      const page = await this.client.list({ prefix, delimiter: "/", ...(continuationToken ? { continuationToken } : {}) });
      for (const entry of page.commonPrefixes ?? []) names.add(entry.prefix.slice(prefix.length).replace(/\/$/, ""));
      for (const entry of page.contents ?? []) names.add(entry.key.slice(prefix.length));
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
    names.delete("");
    return [...names].sort();
  }

  async *walk(path: string): AsyncGenerator<WalkEntry> {
    const prefix = this.below(path);
    const strip = this.settings.prefix === "" ? 0 : this.settings.prefix.length + 1;
    let continuationToken: string | undefined;
    do {
      const page = await this.client.list({ prefix, ...(continuationToken ? { continuationToken } : {}) });
      for (const entry of page.contents ?? []) {
        if (entry.key.endsWith("/")) continue; // a "directory marker" some tools write
        yield { path: entry.key.slice(strip), size: entry.size ?? 0, modified: new Date(entry.lastModified ?? 0) };
      }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
  }

  /** A server-side copy (multipart above 5 GiB), then the source's delete. */
  async move(from: string, to: string): Promise<void> {
    const { size } = await this.fileStat(from);
    if (from === to) return;
    const source = this.key(from);
    const target = this.key(to);
    if (size <= this.maxCopy) {
      await this.requests.copyObject(source, target);
    } else {
      const uploadId = await this.requests.createMultipartUpload(target);
      try {
        const parts = await Promise.all(copyRanges(size, this.maxCopy).map(([start, end], i) => this.requests.uploadPartCopy(target, uploadId, i + 1, source, start, end)));
        await this.requests.completeMultipartUpload(target, uploadId, parts);
      } catch (error) {
        await this.requests.abortMultipartUpload(target, uploadId).catch(() => {});
        throw error;
      }
    }
    await this.client.delete(source);
  }

  /** Writes are durable when S3 acknowledges them. */
  async sync(): Promise<void> {}

  /** The object, and everything below it; unfinished multipart uploads there are aborted. */
  async delete(path: string): Promise<void> {
    const keys: string[] = path === "" ? [] : [this.key(path)];
    for await (const entry of this.walk(path)) keys.push(this.key(entry.path));
    const unfinished = await this.requests.listMultipartUploads(path === "" ? this.below("") : this.key(path));
    for (let i = 0; i < keys.length; i += DELETES_IN_FLIGHT) {
      await Promise.all(keys.slice(i, i + DELETES_IN_FLIGHT).map((key) => this.client.delete(key)));
    }
    await Promise.all(unfinished.map(({ key, uploadId }) => this.requests.abortMultipartUpload(key, uploadId).catch(() => {})));
  }

  async writer(path: string): Promise<FileWriter> {
    const key = this.key(path);
    let size = 0;
    try {
      size = (await this.client.stat(key)).size;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.client.write(key, new Uint8Array()); // the contract: the file exists once opened
    }
    // an object smaller than a part cannot be a copied part: its bytes go up again with the new ones
    const head = size > 0 && size < this.settings.chunkSize ? await this.client.file(key).bytes() : null;
    const limits = { chunkSize: this.settings.chunkSize, maxCopyPart: this.maxCopy };
    return S3Writer.open(this.requests, key, size, head, limits, async (bytes) => {
      await this.client.write(key, bytes);
    });
  }

  /** An S3File: its size is not known without a request (NaN), and a Response would redirect it. */
  blob(path: string): Blob {
    return this.client.file(this.key(path));
  }

  /** A presigned GET for `path` when [storage] redirect is on, else null. */
  redirectUrl(path: string): string | null {
    if (!this.settings.redirect) return null;
    return this.client.presign(this.key(path), { method: "GET", expiresIn: PRESIGN_SECONDS });
  }

  /** A probe written and deleted; only an error's code is said (/healthz is public). */
  async health(): Promise<HealthChecks> {
    try {
      await this.client.list({ prefix: this.below(""), maxKeys: 1 });
    } catch (error) {
      return { storage_root: `the bucket does not answer (${errorCode(error)})`, storage_writable: "not checked: the bucket failed" };
    }
    try {
      await this.putContent(paths.healthProbe(), new Date().toISOString());
      await this.client.delete(this.key(paths.healthProbe()));
      return { storage_root: "ok", storage_writable: "ok" };
    } catch (error) {
      return { storage_root: "ok", storage_writable: `write failed (${errorCode(error)})` };
    }
  }

  /** @throws PathNotFoundError */
  private async fileStat(path: string): Promise<{ size: number }> {
    try {
      return { size: (await this.client.stat(this.key(path))).size };
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path);
      throw error;
    }
  }
}
