/**
 * Reads of the metadata index beyond the read API's facts, for retention, quotas, backup and
 * the web UI: every manifest of a repository, the manifests pulled last, and byte counts.
 * Pull times gathered in memory are flushed first where they matter.
 */
import type { ManifestSummary } from "../hooks/types.ts";
import { freedBytes, storedBytesUnder } from "../metadata/byte-counts.ts";
import type { MetadataIndex } from "../metadata/index.ts";
import { manifestSummaries, type RecentPull, recentPulls } from "../metadata/manifest-list.ts";

export class IndexReads {
  constructor(
    private readonly index: MetadataIndex,
    /** @throws RegistryError NAME_UNKNOWN for a repository with no manifests */
    private readonly assertExists: (repository: string) => Promise<void>,
  ) {}

  /** Every manifest of the repository with its tags. @throws RegistryError NAME_UNKNOWN */
  async manifestList(repository: string): Promise<ManifestSummary[]> {
    await this.assertExists(repository);
    await this.index.flushPulls();
    return manifestSummaries(this.index.database.sql, repository);
  }

  /** The manifests pulled last, newest first. */
  async recentPulls(limit: number): Promise<RecentPull[]> {
    await this.index.flushPulls();
    return recentPulls(this.index.database.sql, limit);
  }

  /** Bytes of the distinct blobs these repositories link or reference (quotas). */
  storedBytes(repositories: readonly string[]): Promise<number> {
    return storedBytesUnder(this.index.database.sql, repositories);
  }

  /** Bytes GC would free once these manifests are deleted (retention previews). */
  freedBytes(manifests: ReadonlyArray<{ repository: string; digest: string }>): Promise<number> {
    return freedBytes(this.index.database.sql, manifests);
  }
}
