/**
 * Runs `work` on each item with at most `limit` running at once: GC and the index rebuild, whose
 * steps each wait for the disk, share the disk's flushes (and its queue) this way instead of
 * paying for them one by one. After a failure no new item starts; the first error is thrown
 * once the running ones have ended.
 */
export async function forEachConcurrently<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  // concurrent next() calls on an async generator are queued by the language: each item goes to one worker
  const iterator: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null) {
      const next = await iterator.next();
      if (next.done) return;
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
