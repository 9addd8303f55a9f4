/**
 * Where the registry's listings come from: the metadata index once it holds the whole tree,
 * the tree itself before (the first start over an existing registry:2 tree builds the index
 * in the background). Each repository is checked against the tree once per process, on its
 * first listing, so data another program wrote meanwhile is listed too (metadata/verify.ts).
 */
import type { MetadataIndex } from "../metadata/index.ts";
import { type RebuildProgress, rebuildIndex } from "../metadata/rebuild.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { verifyRepository } from "../metadata/verify.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { RepositoryLock } from "./repository-lock.ts";

export class Listings {
  private built = false;
  private readonly verified = new Map<string, Promise<void>>();

  constructor(
    private readonly index: MetadataIndex,
    private readonly tree: TreeReader,
    private readonly repositoryLocks: RepositoryLock,
    private readonly delayMs: number,
  ) {}

  /** Settles interrupted changes; builds the index in the background when it never was. */
  async start(onBuilt?: (error: unknown) => void, abandoned?: (owner: string) => boolean): Promise<{ recovered: number; built: Promise<void> }> {
    const recovered = await this.index.recover(this.tree, abandoned);
    if (await this.index.isBuilt()) {
      this.built = true;
      return { recovered, built: Promise.resolve() };
    }
    const built = this.rebuild().then(
      () => onBuilt?.(null),
      (error: unknown) => onBuilt?.(error),
    );
    return { recovered, built };
  }

  /** Settles the changes replicas that died left half done (`abandoned` names them). @returns how many */
  settleAbandoned(abandoned: (owner: string) => boolean): Promise<number> {
    return this.index.recover(this.tree, abandoned);
  }

  /** Builds the index from the tree, each repository under its lock. */
  async rebuild(progress?: (report: RebuildProgress) => void): Promise<RebuildProgress> {
    const exclusive = <T>(repository: string, work: () => Promise<T>) => this.repositoryLocks.exclusive(repository, work);
    const report = await rebuildIndex(this.index, this.tree, { exclusive, delayMs: this.delayMs, ...(progress ? { progress } : {}) });
    this.built = true;
    this.verified.clear();
    return report;
  }

  /** True once the index holds the whole tree: its facts can be read (after `verify`). */
  get isBuilt(): boolean {
    return this.built;
  }

  /** Repository names from the index, or null while it is not built (the caller walks the tree). */
  repositories(): Promise<string[]> | null {
    return this.built ? this.index.repositories() : null;
  }

  /** Tag names from the index, or null while it is not built. */
  tags(repository: string): Promise<string[]> | null {
    return this.built ? this.verify(repository).then(() => this.index.tags(repository)) : null;
  }

  /** Referrers from the index, or null while it is not built. */
  referrers(repository: string, subject: Digest): Promise<Descriptor[]> | null {
    return this.built ? this.verify(repository).then(() => this.index.referrers(repository, subject)) : null;
  }

  /**
   * Finds repositories the tree has and the index does not (written by another program while
   * Berth was stopped) and indexes them: the same walk of repository directories the catalog
   * made at every start before the index, now in the background. @returns their names
   */
  async sweep(): Promise<string[]> {
    const known = new Set(await this.index.repositories());
    const found: string[] = [];
    for await (const repository of this.tree.repositories()) {
      if (known.has(repository)) continue;
      await this.verify(repository);
      found.push(repository);
    }
    return found;
  }

  /**
   * Checks a repository against the tree once per process (see the file comment). No lock:
   * callers may hold the repository's; each correction reads the tree when it is written, and
   * a change running meanwhile records its own outcome after its tree write, so both converge.
   */
  verify(repository: string): Promise<void> {
    let check = this.verified.get(repository);
    if (!check) {
      check = verifyRepository(this.index, this.tree, repository, this.delayMs)
        .then(() => undefined)
        .catch((error: unknown) => {
          this.verified.delete(repository); // checked again next time
          throw error;
        });
      this.verified.set(repository, check);
    }
    return check;
  }
}
