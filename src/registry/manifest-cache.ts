/**
 * Parsed manifests by digest. Manifests are content-addressed and immutable, so a cached copy
 * is never stale; the cache is bounded by bytes (a manifest may be megabytes) and evicts the
 * least recently used.
 */
export class ManifestCache<T extends { bytes: Uint8Array }> {
  private readonly entries = new Map<string, T>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    /** larger manifests are served from disk every time */
    private readonly maxEntryBytes = 1024 * 1024,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // re-insert: Map order is the recency order
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: T): void {
    const size = entry.bytes.byteLength;
    if (size > this.maxEntryBytes || this.entries.has(key)) return;
    this.entries.set(key, entry);
    this.bytes += size;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.bytes.byteLength;
    }
  }
}
