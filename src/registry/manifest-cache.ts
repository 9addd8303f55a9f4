/**
 * Parsed manifests by digest. Manifests are content-addressed and immutable, so a cached copy
 * is never stale; the cache is bounded by bytes (a manifest may be megabytes) and evicts the
 * least recently used.
 */
export class ManifestCache<T extends { bytes: Uint8Array }> {
  private readonly entries = new Map<string, T>();
  private bytes = 0;
  /** the most recently used key: a hit on it needs no re-insert (one hot manifest is the usual pull) */
  private newest: string | undefined;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    /** larger manifests are served from disk every time */
    private readonly maxEntryBytes = 1024 * 1024,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry && key !== this.newest) {
      // re-insert: Map order is the recency order
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = key;
    }
    return entry;
  }

  set(key: string, entry: T): void {
    const size = entry.bytes.byteLength;
    if (size > this.maxEntryBytes || this.entries.has(key)) return;
    this.entries.set(key, entry);
    this.newest = key;
    this.bytes += size;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.bytes.byteLength;
    }
  }
}

/**
 * What a repository's tags name and which revisions it holds, as Berth last read them: a pull
 * by tag then reads no link file. Berth is the only writer of its tree while it runs (the
 * root's lock; another program's changes are seen at the next start, with an empty cache), and
 * ManifestStore calls `changed` after each tag or revision change it makes, so an entry is
 * never stale. A read that raced with a change is not kept: every change bumps the version, and
 * `remember` is given the version seen before the disk was read (as TagLists does).
 * Only what exists is kept (absent tags are read each time), up to `maxEntries` per map.
 */
export class ReferenceCache<D> {
  private readonly tags = new Map<string, D>();
  private readonly revisions = new Set<string>();
  private changes = 0;

  constructor(private readonly maxEntries = 100_000) {}

  /** Read before the disk, handed back to `rememberTag` / `rememberRevision`. */
  get version(): number {
    return this.changes;
  }

  tag(repository: string, tag: string): D | undefined {
    return this.tags.get(tagKey(repository, tag));
  }

  hasRevision(repository: string, digest: string): boolean {
    return this.revisions.has(revisionKey(repository, digest));
  }

  rememberTag(version: number, repository: string, tag: string, digest: D): void {
    if (version !== this.changes) return;
    this.tags.set(tagKey(repository, tag), digest);
    if (this.tags.size > this.maxEntries) dropOldest(this.tags.keys(), this.tags);
  }

  rememberRevision(version: number, repository: string, digest: string): void {
    if (version !== this.changes) return;
    this.revisions.add(revisionKey(repository, digest));
    if (this.revisions.size > this.maxEntries) dropOldest(this.revisions.values(), this.revisions);
  }

  /** A tag was written or removed (or may have been: call it after a failed attempt too). */
  tagChanged(repository: string, tag: string): void {
    this.changes++;
    this.tags.delete(tagKey(repository, tag));
  }

  revisionRemoved(repository: string, digest: string): void {
    this.changes++;
    this.revisions.delete(revisionKey(repository, digest));
  }

  /** A repository deleted as a whole (rare): forget everything rather than walk the keys. */
  clear(): void {
    this.changes++;
    this.tags.clear();
    this.revisions.clear();
  }
}

// ":" and "@" are in neither the repository nor the tag grammar: keys cannot collide
const tagKey = (repository: string, tag: string) => `${repository}:${tag}`;
const revisionKey = (repository: string, digest: string) => `${repository}@${digest}`;

/** Maps and sets iterate in insertion order: the first key is the oldest. */
function dropOldest(keys: Iterator<string>, from: { delete(key: string): boolean }): void {
  const oldest = keys.next();
  if (!oldest.done) from.delete(oldest.value);
}
