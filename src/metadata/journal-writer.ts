/**
 * Writes journal entries (index.ts) with group commit: entries that arrive while a commit is
 * being made wait for the next one and share it, so concurrent pushes pay one durable commit
 * (one fsync) between them instead of one each. An entry's promise resolves once its commit is
 * on disk (or, for an entry that asked for it, once it is committed without waiting for the disk).
 */
import type { MetadataDatabase } from "./database.ts";
import type { JournalEntry } from "./reconcile.ts";

interface Waiting {
  entry: JournalEntry;
  startedAt: number;
  done: () => void;
  failed: (error: unknown) => void;
}

export class JournalWriter {
  private readonly queues: Record<"durable" | "relaxed", Waiting[]> = { durable: [], relaxed: [] };
  private writing: Promise<void> | null = null;

  constructor(private readonly database: MetadataDatabase) {}

  /** Resolves when `entry` is committed: on disk when `durable`. */
  add(entry: JournalEntry, durable: boolean): Promise<void> {
    return new Promise<void>((done, failed) => {
      this.queues[durable ? "durable" : "relaxed"].push({ entry, startedAt: Date.now(), done, failed });
      this.writing ??= this.drain();
    });
  }

  /** Commits what waits, batch after batch, until nothing does. */
  private async drain(): Promise<void> {
    await Promise.resolve(); // let the entries of this turn of the event loop join the first batch
    try {
      for (;;) {
        const durable = this.queues.durable.splice(0);
        const relaxed = this.queues.relaxed.splice(0);
        if (durable.length === 0 && relaxed.length === 0) return;
        // a durable commit carries the relaxed entries with it
        await this.commit([...durable, ...relaxed], durable.length > 0);
      }
    } finally {
      this.writing = null;
    }
  }

  private async commit(batch: Waiting[], durable: boolean): Promise<void> {
    try {
      await this.database.write(async (tx) => {
        for (const { entry, startedAt } of batch) {
          await tx`INSERT INTO journal (id, repository, digest, tag, started_at)
                   VALUES (${entry.id}, ${entry.repository}, ${entry.digest}, ${entry.tag}, ${startedAt})`;
        }
      }, { durable });
    } catch (error) {
      for (const waiting of batch) waiting.failed(error);
      return;
    }
    for (const waiting of batch) waiting.done();
  }
}
