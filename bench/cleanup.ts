/**
 * Cleanups to run if the benchmark is interrupted (Ctrl-C, SIGTERM): kill the registries it
 * started and remove their temp directories. Normal paths remove their own entries.
 */
const pending = new Set<() => void>();

/** Registers a synchronous cleanup; returns a function that unregisters it. */
export function onInterrupt(cleanup: () => void): () => void {
  pending.add(cleanup);
  return () => pending.delete(cleanup);
}

/** Runs every registered cleanup once (errors are ignored: this is the last thing we do). */
export function runInterruptCleanups(): void {
  for (const cleanup of [...pending]) {
    pending.delete(cleanup);
    try {
      cleanup();
    } catch {
      // keep going: the remaining cleanups still matter
    }
  }
}
