/**
 * Running SHA-256 hashes computed on a worker thread. Uploads hand over the body's chunks
 * (their buffers are transferred, not copied, when a chunk owns its buffer) and ask for the
 * digest at the end. Hashing on the
 * main thread would take about as long as reading the body and writing it to disk together;
 * on its own thread it overlaps them. Chunks in flight are bounded, so memory is too.
 *
 * Chunks go over in batches of about 512 KiB per upload, one message each (their buffers
 * transferred together): docker sends layers in 32 KiB chunks, and a message and its answer per
 * chunk cost more than the hashing. A batch is sent when it is full and before a digest.
 */

import { hashWorkerMain } from "./hash-worker.ts";

export type HashRequest =
  | { op: "update"; key: string; chunks: Uint8Array[] }
  | { op: "digest"; key: string }
  | { op: "drop"; key: string };

export type HashReply = { op: "ack"; key: string; bytes: number } | { op: "digest"; key: string; hex: string };

/** Most bytes handed to the worker and not yet hashed before `update` waits. */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;
/** Bytes of one upload gathered before they go to the worker in one message. */
const BATCH_BYTES = 512 * 1024;

export class HashPool {
  private worker: Worker | null = null;
  private inFlight = 0;
  private readonly drained: Array<() => void> = [];
  private readonly digests = new Map<string, { resolve: (hex: string) => void; reject: (error: Error) => void }>();
  /** chunks of each upload not yet sent, with their total size */
  private readonly batches = new Map<string, { chunks: Uint8Array[]; bytes: number }>();
  /** bumped when the worker is replaced: running hashes from before are gone */
  generation = 0;

  /** Hands `chunk` to the worker; the caller must not touch it afterwards. */
  async update(key: string, chunk: Uint8Array): Promise<void> {
    this.ensureWorker();
    const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : new Uint8Array(chunk); // a copy (slice() of a Buffer is a view)
    let batch = this.batches.get(key);
    if (!batch) this.batches.set(key, (batch = { chunks: [], bytes: 0 }));
    batch.chunks.push(owned);
    batch.bytes += owned.byteLength;
    if (batch.bytes >= BATCH_BYTES) this.send(key);
    if (this.inFlight > MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** The hex digest of everything given under `key`; forgets the key. */
  digest(key: string): Promise<string> {
    const worker = this.ensureWorker();
    this.send(key);
    return new Promise<string>((resolve, reject) => {
      this.digests.set(key, { resolve, reject });
      worker.postMessage({ op: "digest", key } satisfies HashRequest);
    });
  }

  drop(key: string): void {
    this.batches.delete(key); // never sent: nothing in flight to count back
    this.worker?.postMessage({ op: "drop", key } satisfies HashRequest);
  }

  /** Sends what is gathered for `key` now: at the end of a request, so nothing waits in memory between requests. */
  flush(key: string): void {
    this.send(key);
  }

  /** Sends the upload's gathered chunks in one message, their buffers transferred. */
  private send(key: string): void {
    const batch = this.batches.get(key);
    if (!batch || !this.worker) return;
    this.batches.delete(key);
    this.inFlight += batch.bytes; // gathered bytes are bounded per upload; only sent ones count here
    this.worker.postMessage({ op: "update", key, chunks: batch.chunks } satisfies HashRequest, batch.chunks.map((chunk) => chunk.buffer as ArrayBuffer));
  }

  close(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const source = new Blob([`(${hashWorkerMain.toString()})();`], { type: "application/javascript" });
    const worker = new Worker(URL.createObjectURL(source));
    worker.onmessage = (event: MessageEvent<HashReply>) => this.receive(event.data);
    worker.onerror = (event) => this.fail(new Error(`Hash worker failed: ${event.message}`));
    // An idle worker must not keep the process alive.
    (worker as Worker & { unref(): void }).unref();
    this.worker = worker;
    return worker;
  }

  private receive(reply: HashReply): void {
    if (reply.op === "ack") {
      this.inFlight -= reply.bytes;
      if (this.inFlight <= MAX_IN_FLIGHT / 2) for (const resolve of this.drained.splice(0)) resolve();
      return;
    }
    const waiter = this.digests.get(reply.key);
    this.digests.delete(reply.key);
    waiter?.resolve(reply.hex);
  }

  private fail(error: Error): void {
    this.worker?.terminate();
    this.worker = null;
    this.generation++;
    this.inFlight = 0;
    this.batches.clear();
    for (const resolve of this.drained.splice(0)) resolve();
    for (const waiter of this.digests.values()) waiter.reject(error);
    this.digests.clear();
  }
}
