/**
 * Shared/exclusive locks per repository. Manifest pushes hold a repository shared (any number
 * at once); a blob delete holds it exclusively, so it cannot slip between a manifest's check
 * that its blobs are present and the store that makes the manifest visible.
 */
interface LockState {
  readers: number;
  writer: boolean;
  waiting: Array<{ exclusive: boolean; grant: () => void }>;
}

export class RepositoryLock {
  private readonly states = new Map<string, LockState>();

  shared<T>(repository: string, work: () => Promise<T>): Promise<T> {
    return this.run(repository, false, work);
  }

  exclusive<T>(repository: string, work: () => Promise<T>): Promise<T> {
    return this.run(repository, true, work);
  }

  private async run<T>(repository: string, exclusive: boolean, work: () => Promise<T>): Promise<T> {
    const state = this.states.get(repository) ?? { readers: 0, writer: false, waiting: [] };
    this.states.set(repository, state);
    // first come, first served: a waiting writer is not overtaken by later readers
    if (state.writer || (exclusive ? state.readers > 0 : false) || state.waiting.length > 0) {
      await new Promise<void>((grant) => state.waiting.push({ exclusive, grant }));
    } else if (exclusive) state.writer = true;
    else state.readers++;
    try {
      return await work();
    } finally {
      if (exclusive) state.writer = false;
      else state.readers--;
      this.wake(repository, state);
    }
  }

  private wake(repository: string, state: LockState): void {
    while (state.waiting.length > 0 && !state.writer) {
      const next = state.waiting[0] as { exclusive: boolean; grant: () => void };
      if (next.exclusive && state.readers > 0) break;
      state.waiting.shift();
      if (next.exclusive) state.writer = true;
      else state.readers++;
      next.grant();
      if (next.exclusive) break;
    }
    if (!state.writer && state.readers === 0 && state.waiting.length === 0) this.states.delete(repository);
  }
}
