/**
 * Appending to an S3 object. An object cannot grow, so a writer rewrites it: what it appends
 * goes up as multipart parts of `chunkSize`, behind a first part that is a server-side copy of
 * the object as it was when the writer opened (UploadPartCopy; or, for an object smaller than
 * a part, its bytes read back and sent again). Finishing completes the upload: the object is
 * replaced at once, as a rename would. Cancelling aborts it: the object is untouched.
 *
 * Nothing of a writer lives only in this process between two writers: the object itself is
 * the upload's state, so a PATCH that lands on another process (another replica) opens a
 * writer over the same object and continues. A process killed mid-write leaves the object as
 * it was before that writer, and an unfinished multipart upload that the driver's delete (of
 * the upload's directory) aborts.
 */
import type { FileWriter } from "../driver.ts";
import type { CompletedPart, S3Requests } from "./requests.ts";

/** Parts sent at once by one writer: overlaps the network with the caller's next chunks. */
const PARTS_IN_FLIGHT = 3;
/** S3's limit on parts per upload. */
const MAX_PARTS = 10_000;

export interface S3WriterLimits {
  chunkSize: number;
  /** the largest part one UploadPartCopy may copy (S3: 5 GiB) */
  maxCopyPart: number;
}

export class S3Writer implements FileWriter {
  private readonly pending: Uint8Array<ArrayBuffer>[] = [];
  private pendingBytes = 0;
  private appended = 0;
  private uploadId: string | null = null;
  private readonly parts: Promise<CompletedPart>[] = [];
  private inFlight: Promise<unknown>[] = [];
  private failure: unknown = null;
  private finished = false;
  /** the opened object's bytes are all in `pending` (or it was empty): one PutObject may replace it */
  private readonly headPending: boolean;

  /**
   * @param openedSize the object's size when opened
   * @param head the object's bytes when it is smaller than a part (sent again in the first part), else null
   */
  private constructor(
    private readonly requests: S3Requests,
    private readonly key: string,
    private readonly openedSize: number,
    head: Uint8Array<ArrayBuffer> | null,
    private readonly limits: S3WriterLimits,
    /** replaces the object with these bytes in one PutObject (a writer that stayed under one part) */
    private readonly put: (bytes: Uint8Array) => Promise<void>,
  ) {
    if (head !== null && head.byteLength > 0) {
      this.pending.push(head);
      this.pendingBytes = head.byteLength;
    }
    this.headPending = openedSize === 0 || head !== null;
  }

  static open(requests: S3Requests, key: string, openedSize: number, head: Uint8Array<ArrayBuffer> | null, limits: S3WriterLimits, put: (bytes: Uint8Array) => Promise<void>): S3Writer {
    return new S3Writer(requests, key, openedSize, head, limits, put);
  }

  get size(): number {
    return this.openedSize + this.appended;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    this.throwFailure();
    this.pending.push(new Uint8Array(chunk)); // a copy: the caller may reuse its buffer
    this.pendingBytes += chunk.byteLength;
    this.appended += chunk.byteLength;
    if (this.pendingBytes >= this.limits.chunkSize) await this.sendPending();
  }

  async commit(): Promise<void> {
    this.assertOpen();
    await this.complete();
  }

  async cancel(): Promise<void> {
    this.assertOpen();
    this.finished = true;
    this.appended = 0;
    this.pending.length = 0;
    if (this.uploadId === null) return;
    await Promise.allSettled(this.inFlight);
    await this.requests.abortMultipartUpload(this.key, this.uploadId);
  }

  async close(): Promise<void> {
    if (this.finished) return;
    await this.complete();
  }

  private async complete(): Promise<void> {
    try {
      this.throwFailure();
      if (this.appended === 0) {
        if (this.uploadId !== null) await this.abort();
      } else if (this.uploadId === null && this.headPending) {
        await this.put(this.takePending()); // under one part: one PutObject, head included
      } else {
        // the last part: what is pending, if anything (an opened object is never rewritten empty-handed)
        const uploadId = this.pendingBytes > 0 || this.uploadId === null ? await this.sendPending() : this.uploadId;
        const parts = await Promise.all(this.parts);
        await this.requests.completeMultipartUpload(this.key, uploadId, parts);
      }
      this.finished = true;
    } catch (error) {
      // the contract: a commit that rejects leaves the writer open (to be cancelled or closed)
      this.failure = null;
      throw error;
    }
  }

  private async abort(): Promise<void> {
    if (this.uploadId === null) return;
    await Promise.allSettled(this.inFlight);
    await this.requests.abortMultipartUpload(this.key, this.uploadId);
  }

  /** Sends what is pending as the next part, first starting the upload when needed. */
  private async sendPending(): Promise<string> {
    const uploadId = this.uploadId ?? (await this.start());
    if (this.parts.length >= MAX_PARTS) throw new Error(`${this.key}: more than ${MAX_PARTS} parts; raise storage.s3.chunk_size`);
    const bytes = this.takePending();
    const part = this.track(this.requests.uploadPart(this.key, uploadId, this.parts.length + 1, bytes));
    this.parts.push(part);
    if (this.inFlight.length >= PARTS_IN_FLIGHT) await this.inFlight[0];
    this.throwFailure();
    return uploadId;
  }

  /** Creates the multipart upload; its first parts copy the object as it was opened. */
  private async start(): Promise<string> {
    const uploadId = await this.requests.createMultipartUpload(this.key);
    this.uploadId = uploadId;
    const inHead = this.pendingBytes - this.appended; // bytes of the opened object already pending
    if (inHead === 0 && this.openedSize > 0) {
      for (const [start, end] of copyRanges(this.openedSize, this.limits.maxCopyPart)) {
        this.parts.push(this.track(this.requests.uploadPartCopy(this.key, uploadId, this.parts.length + 1, this.key, start, end)));
      }
    }
    return uploadId;
  }

  private track<T>(request: Promise<T>): Promise<T> {
    const settled = request.then(
      () => {},
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.inFlight.push(settled);
    void settled.then(() => {
      this.inFlight = this.inFlight.filter((p) => p !== settled);
    });
    return request;
  }

  private takePending(): Uint8Array<ArrayBuffer> {
    const bytes = this.pending.length === 1 ? (this.pending[0] as Uint8Array<ArrayBuffer>) : new Uint8Array(Buffer.concat(this.pending));
    this.pending.length = 0;
    this.pendingBytes = 0;
    return bytes;
  }

  private throwFailure(): void {
    if (this.failure !== null) throw this.failure;
  }

  private assertOpen(): void {
    if (this.finished) throw new Error(`Writer for ${this.key} is finished`);
  }
}

/**
 * [start, end] (inclusive) ranges covering `size` bytes, none over `maxPart`, all of nearly the
 * same size: no small range in the middle (every part but the last must reach S3's minimum).
 */
export function copyRanges(size: number, maxPart: number): Array<[number, number]> {
  const count = Math.ceil(size / maxPart);
  const each = Math.ceil(size / count);
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += each) ranges.push([start, Math.min(start + each, size) - 1]);
  return ranges;
}
