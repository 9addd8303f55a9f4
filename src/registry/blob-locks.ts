/**
 * Shared/exclusive locks per blob digest. Whatever makes a blob referenced or linked (an
 * upload finishing, a mount, a manifest push from its check of the blobs to its index record)
 * holds the blob shared; garbage collection deletes it only holding it exclusively, after
 * checking again that nothing references it.
 */
import { RepositoryLock } from "./repository-lock.ts";

export class BlobLocks {
  private readonly locks = new RepositoryLock();

  shared<T>(digest: string, work: () => Promise<T>): Promise<T> {
    return this.locks.shared(digest, work);
  }

  /** Holds every digest shared (in sorted order; exclusive holders take one digest at a time). */
  sharedAll<T>(digests: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(digests)].sort();
    const hold = (index: number): Promise<T> =>
      index === sorted.length ? work() : this.locks.shared(sorted[index] as string, () => hold(index + 1));
    return hold(0);
  }

  exclusive<T>(digest: string, work: () => Promise<T>): Promise<T> {
    return this.locks.exclusive(digest, work);
  }
}
