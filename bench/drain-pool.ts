/**
 * Blob downloads spread over worker threads, so that a big pull measures the server and not
 * the load generator (one Bun thread reads about 1.3 GB/s from a loopback socket here).
 * The workers belong to this process, so their CPU counts as client CPU.
 */
export class DrainPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (bytes: number) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL("./drain-worker.ts", import.meta.url).href);
      worker.onmessage = (event: MessageEvent) => this.settle(event.data);
      return worker;
    });
  }

  /** Downloads the blob on worker `slot` (mod the pool size); resolves with its size. */
  drain(slot: number, base: string, repo: string, digest: string): Promise<number> {
    const id = this.nextId++;
    const worker = this.workers[slot % this.workers.length];
    if (!worker) return Promise.reject(new Error("the drain pool has no workers"));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, base, repo, digest });
    });
  }

  close(): void {
    for (const worker of this.workers) worker.terminate();
    for (const { reject } of this.pending.values()) reject(new Error("the drain pool was closed"));
    this.pending.clear();
  }

  private settle(data: unknown): void {
    if (typeof data !== "object" || data === null) return;
    const reply = data as { id?: unknown; bytes?: unknown; error?: unknown };
    if (typeof reply.id !== "number") return;
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (typeof reply.bytes === "number") waiter.resolve(reply.bytes);
    else waiter.reject(new Error(typeof reply.error === "string" ? reply.error : "the drain worker failed"));
  }
}
