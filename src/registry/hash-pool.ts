/**
 * Running SHA-256 hashes computed on a worker thread. Uploads hand over the body's chunks
 * (their buffers are transferred, not copied, when a chunk owns its buffer) and ask for the
 * digest at the end. Hashing on the
 * main thread would take about as long as reading the body and writing it to disk together;
 * on its own thread it overlaps them. Chunks in flight are bounded, so memory is too.
 */

import { hashWorkerMain } from "./hash-worker.ts";

export type HashRequest =
  | { op: "update"; key: string; chunk: Uint8Array }
  | { op: "digest"; key: string }
  | { op: "drop"; key: string };

export type HashReply = { op: "ack"; key: string; bytes: number } | { op: "digest"; key: string; hex: string };

/** Most bytes handed to the worker and not yet hashed before `update` waits. */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

export class HashPool {
  private worker: Worker | null = null;
  private inFlight = 0;
  private readonly drained: Array<() => void> = [];
  private readonly digests = new Map<string, { resolve: (hex: string) => void; reject: (error: Error) => void }>();
  /** bumped when the worker is replaced: running hashes from before are gone */
  generation = 0;

  /** Hands `chunk` to the worker; the caller must not touch it afterwards. */
  async update(key: string, chunk: Uint8Array): Promise<void> {
    const worker = this.ensureWorker();
    this.inFlight += chunk.byteLength;
    const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : new Uint8Array(chunk); // a copy (slice() of a Buffer is a view)
    worker.postMessage({ op: "update", key, chunk: owned } satisfies HashRequest, [owned.buffer as ArrayBuffer]);
    if (this.inFlight > MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** The hex digest of everything given under `key`; forgets the key. */
  digest(key: string): Promise<string> {
    const worker = this.ensureWorker();
    return new Promise<string>((resolve, reject) => {
      this.digests.set(key, { resolve, reject });
      worker.postMessage({ op: "digest", key } satisfies HashRequest);
    });
  }

  drop(key: string): void {
    this.worker?.postMessage({ op: "drop", key } satisfies HashRequest);
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
    for (const resolve of this.drained.splice(0)) resolve();
    for (const waiter of this.digests.values()) waiter.reject(error);
    this.digests.clear();
  }
}
