/**
 * Sorted tag names per repository, read from disk once and kept in step with Berth's own tag
 * writes and deletes (Distribution reads and sorts the directory on every request).
 *
 * A listing that raced with a tag change is not cached: every change bumps the repository's
 * version, and a listing is kept only if the version did not move while it read the disk.
 *
 * The whole list's JSON answer is kept too, per repository and version: for 10,000 tags,
 * JSON.stringify is most of the cost of the request.
 */
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { exists } from "./links.ts";
import { compareBytes, compareTags, upperBound } from "./sorted.ts";

const MAX_LISTING_ATTEMPTS = 5;
const WHOLE_LISTS_KEPT = 256;

export class TagLists {
  private readonly lists = new Map<string, string[]>();
  private readonly versions = new Map<string, number>();
  private readonly wholeLists = new Map<string, { version: number; json: string }>();

  constructor(
    private readonly driver: StorageDriver,
    /** the names from the metadata index, or null while it is not built */
    private readonly indexed: (repository: string) => Promise<string[]> | null = () => null,
  ) {}

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

  /** `{"name":…,"tags":[…]}` for the whole list, serialised once per version of it; null above `maxTags`. */
  async json(repository: string, maxTags: number): Promise<string | null> {
    const version = this.version(repository); // before the list: a change in between only wastes the memo
    const tags = await this.list(repository);
    if (tags.length > maxTags) return null;
    const cached = this.wholeLists.get(repository);
    if (cached?.version === version) return cached.json;
    const json = JSON.stringify({ name: repository, tags });
    this.wholeLists.delete(repository); // re-inserted last: the map's order is least recently used first
    this.wholeLists.set(repository, { version, json });
    if (this.wholeLists.size > WHOLE_LISTS_KEPT) this.wholeLists.delete(this.wholeLists.keys().next().value as string);
    return json;
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

  /** Drops what is kept of a repository deleted as a whole. */
  forget(repository: string): void {
    this.bump(repository);
    this.lists.delete(repository);
    this.wholeLists.delete(repository);
  }

  /** Drops every list kept (another replica may have changed any of them). */
  forgetAll(): void {
    for (const repository of new Set([...this.lists.keys(), ...this.wholeLists.keys()])) this.forget(repository);
  }

  private async read(repository: string): Promise<string[]> {
    const fromIndex = this.indexed(repository);
    const names = fromIndex ? await fromIndex : await this.readTree(repository);
    // sort on precomputed keys: 10,000 tags would otherwise lowercase each name ~28 times
    return names
      .map((name) => ({ name, key: name.toLowerCase() }))
      .sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.name, b.name))
      .map((entry) => entry.name);
  }

  private async readTree(repository: string): Promise<string[]> {
    const names = await this.driver.list(paths.tagsRoot(repository));
    // A tag directory without a current link (a crash mid-write or mid-delete) is no tag.
    const present = await Promise.all(names.map((tag) => exists(this.driver, paths.tagCurrentLink(repository, tag))));
    return names.filter((_, i) => present[i]);
  }

  /** Bumped by every tag change in the repository: equal versions mean equal lists. */
  version(repository: string): number {
    return this.versions.get(repository) ?? 0;
  }

  private bump(repository: string): void {
    this.versions.set(repository, this.version(repository) + 1);
  }
}
