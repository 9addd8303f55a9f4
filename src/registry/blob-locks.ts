/**
 * Shared/exclusive locks per blob digest. Whatever makes a blob referenced or linked (an
 * upload finishing, a mount, a manifest push from its check of the blobs to its index record)
 * holds the blob shared; garbage collection deletes it only holding it exclusively, after
 * checking again that nothing references it.
 *
 * With replicas sharing the metadata, the same order holds across processes through the blob's
 * row (src/cluster/blob-claims.ts): a shared holder pins the blob, a collector claims it.
 */
import type { BlobClaims } from "../cluster/blob-claims.ts";
import { RepositoryLock } from "./repository-lock.ts";

export class BlobLocks {
  private readonly locks = new RepositoryLock();

  constructor(private readonly claims: BlobClaims | null = null) {}

  shared<T>(digest: string, work: () => Promise<T>): Promise<T> {
    return this.sharedAll([digest], work);
  }

  /** Holds every digest shared (in sorted order; exclusive holders take one digest at a time). */
  sharedAll<T>(digests: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(digests)].sort();
    const pinned = async () => {
      await this.claims?.pin(sorted);
      return work();
    };
    const hold = (index: number): Promise<T> =>
      index === sorted.length ? pinned() : this.locks.shared(sorted[index] as string, () => hold(index + 1));
    return hold(0);
  }

  exclusive<T>(digest: string, work: () => Promise<T>): Promise<T> {
    return this.locks.exclusive(digest, work);
  }

  /**
   * Garbage collection's hold on a blob it found due by `dueBy`: exclusive here and, with
   * replicas, claimed in the database. @returns null when another replica relies on it now
   */
  forDeletion<T>(digest: string, dueBy: number, work: () => Promise<T>): Promise<T | null> {
    return this.locks.exclusive(digest, async () => {
      const claims = this.claims;
      if (!claims) return work();
      if (!(await claims.claim(digest, dueBy))) return null;
      try {
        return await work();
      } finally {
        await claims.release(digest).catch(() => undefined); // a claim left behind goes stale in a minute
      }
    });
  }
}
