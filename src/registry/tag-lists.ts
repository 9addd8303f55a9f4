/**
 * Sorted tag names per repository, read from disk once and kept in step with Berth's own tag
 * writes and deletes (Distribution reads and sorts the directory on every request).
 *
 * A listing that raced with a tag change is not cached: every change bumps the repository's
 * version, and a listing is kept only if the version did not move while it read the disk.
 */
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { exists } from "./links.ts";
import { compareBytes, compareTags, upperBound } from "./sorted.ts";

const MAX_LISTING_ATTEMPTS = 5;

export class TagLists {
  private readonly lists = new Map<string, string[]>();
  private readonly versions = new Map<string, number>();

  constructor(private readonly driver: StorageDriver) {}

  /** Tag names in the spec's lexical order (case-insensitive, then by byte to be total). */
  async list(repository: string): Promise<readonly string[]> {
    const cached = this.lists.get(repository);
    if (cached) return cached;
    let listed: string[] = [];
    for (let attempt = 0; attempt < MAX_LISTING_ATTEMPTS; attempt++) {
      const version = this.version(repository);
      listed = await this.read(repository);
      if (this.version(repository) === version) {
        this.lists.set(repository, listed);
        return listed;
      }
    }
    return listed; // tags keep changing under us: answer, but do not cache
  }

  added(repository: string, tag: string): void {
    this.bump(repository);
    const cached = this.lists.get(repository);
    if (!cached) return;
    const index = upperBound(cached, tag, compareTags);
    if (cached[index - 1] !== tag) cached.splice(index, 0, tag);
  }

  removed(repository: string, tag: string): void {
    this.bump(repository);
    const cached = this.lists.get(repository);
    const index = cached?.indexOf(tag) ?? -1;
    if (cached && index >= 0) cached.splice(index, 1);
  }

  private async read(repository: string): Promise<string[]> {
    const names = await this.driver.list(paths.tagsRoot(repository));
    // A tag directory without a current link (a crash mid-write or mid-delete) is no tag.
    const present = await Promise.all(names.map((tag) => exists(this.driver, paths.tagCurrentLink(repository, tag))));
    // sort on precomputed keys: 10,000 tags would otherwise lowercase each name ~28 times
    return names
      .filter((_, i) => present[i])
      .map((name) => ({ name, key: name.toLowerCase() }))
      .sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.name, b.name))
      .map((entry) => entry.name);
  }

  /** Bumped by every tag change in the repository: equal versions mean equal lists. */
  version(repository: string): number {
    return this.versions.get(repository) ?? 0;
  }

  private bump(repository: string): void {
    this.versions.set(repository, this.version(repository) + 1);
  }
}
