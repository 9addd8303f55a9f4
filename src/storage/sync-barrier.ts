/**
 * Makes every write made so far on one file system durable with a single syncfs(2), shared by
 * every caller that asks meanwhile: group commit for the directory tree. A push then waits for
 * one flush that covers its link files, its blob data and the index's log together, instead of
 * an fsync per file and per directory (about thirty for a small image). syncfs runs on its own
 * thread: it may take as long as the dirty data takes to reach the disk, and the event loop
 * must not wait for it.
 *
 * A round that started before a caller asked may have missed that caller's writes, so the
 * caller joins the next round; callers that ask while one runs share that next round.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

type SyncReply = { id: number; error: string | null };
type RefWorker = Worker & { ref(): void; unref(): void };

export class SyncBarrier {
  private worker: RefWorker | null = null;
  private current: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private readonly waiting = new Map<number, { done: () => void; failed: (error: Error) => void }>();
  private nextId = 0;
  /** rounds run so far (tests check that concurrent callers share them) */
  rounds = 0;

  constructor(private readonly directory: string) {}

  /** Resolves once everything written on this file system before the call is on disk. */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.current) return (this.current = this.start());
    this.queued = this.current
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return (this.current = this.start());
      });
    return this.queued;
  }

  close(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private start(): Promise<void> {
    this.rounds++;
    const round: Promise<void> = this.ask().finally(() => {
      if (this.current === round) this.current = null;
    });
    return round;
  }

  private ask(): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    // referenced while a round runs (a CLI command must not end waiting for it), not when idle
    if (this.waiting.size === 0) worker.ref();
    return new Promise<void>((done, failed) => {
      this.waiting.set(id, { done, failed });
      worker.postMessage({ id, directory: this.directory });
    });
  }

  private ensureWorker(): RefWorker {
    if (this.worker) return this.worker;
    const source = new Blob([`(${syncWorkerMain.toString()})();`], { type: "application/javascript" });
    const worker = new Worker(URL.createObjectURL(source)) as RefWorker;
    worker.onmessage = (event: MessageEvent<SyncReply>) => {
      const waiter = this.waiting.get(event.data.id);
      this.waiting.delete(event.data.id);
      if (this.waiting.size === 0) worker.unref();
      if (event.data.error === null) waiter?.done();
      else waiter?.failed(new Error(`Could not flush ${this.directory} to disk: ${event.data.error}`));
    };
    worker.onerror = (event) => {
      this.worker = null;
      for (const waiter of this.waiting.values()) waiter.failed(new Error(`Sync worker failed: ${event.message}`));
      this.waiting.clear();
    };
    worker.unref(); // an idle worker must not keep the process alive
    this.worker = worker;
    return worker;
  }
}

const barriers = new Map<number, SyncBarrier>();

/**
 * The barrier of the file system `directory` is on (or will be: its nearest existing parent's),
 * shared by everything on that file system, so that the tree and the index's database on the
 * same disk are flushed by one syncfs.
 */
export function syncBarrierFor(directory: string): SyncBarrier {
  let existing = resolve(directory);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const device = statSync(existing).dev;
  let barrier = barriers.get(device);
  if (!barrier) barriers.set(device, (barrier = new SyncBarrier(existing)));
  return barrier;
}

/**
 * Runs inside the worker, started from its own source text (as the hash worker), so it uses
 * only globals and dynamic imports of built-in modules. syncfs through libc; where libc cannot
 * be loaded, sync(1) flushes every file system instead.
 */
export function syncWorkerMain(): void {
  const scope = self as unknown as Worker;
  type Libc = { symbols: { syncfs: (fd: number) => number } };
  let libc: Libc | null | undefined;
  const load = async (): Promise<Libc | null> => {
    try {
      const { dlopen } = await import("bun:ffi");
      return dlopen("libc.so.6", { syncfs: { args: ["i32"], returns: "i32" } }) as unknown as Libc;
    } catch {
      return null;
    }
  };
  scope.onmessage = async (event: MessageEvent<{ id: number; directory: string }>) => {
    const { id, directory } = event.data;
    try {
      if (libc === undefined) libc = await load();
      if (libc === null) {
        const done = Bun.spawnSync(["sync"]);
        if (!done.success) throw new Error(`sync exited with ${done.exitCode}`);
      } else {
        const fs = await import("node:fs");
        const { dirname } = await import("node:path");
        // the directory the barrier was made for may be gone since: its parent is on the same disk
        let fd = -1;
        for (let path = directory; fd < 0; path = dirname(path)) {
          try {
            fd = fs.openSync(path, "r");
          } catch (error) {
            if ((error as { code?: string }).code !== "ENOENT" || path === dirname(path)) throw error;
          }
        }
        try {
          if (libc.symbols.syncfs(fd) !== 0) throw new Error("syncfs failed");
        } finally {
          fs.closeSync(fd);
        }
      }
      scope.postMessage({ id, error: null });
    } catch (error) {
      scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
    }
  };
}
