/**
 * The repository catalog. Distribution walks the whole tree on every call; Berth walks it
 * once (lazily, so start-up stays fast), keeps the sorted names in memory and adds to them
 * as manifests are pushed. The tree stays the source of truth: a restart rebuilds it.
 */
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { compareBytes, upperBound } from "./sorted.ts";

export interface RepositoryEntry {
  name: string;
  /** the repository has manifests (Distribution's test for listing it) */
  hasManifests: boolean;
  hasUploads: boolean;
}

/** Every repository directory below the root, depth first; bounded by the tree itself. */
export async function* walkRepositories(driver: StorageDriver): AsyncGenerator<RepositoryEntry> {
  const root = paths.repositoriesRoot();
  const pending: string[] = [""];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    const children = await driver.list(name === "" ? root : `${root}/${name}`);
    if (name !== "" && (children.includes("_manifests") || children.includes("_uploads") || children.includes("_layers"))) {
      yield { name, hasManifests: children.includes("_manifests"), hasUploads: children.includes("_uploads") };
    }
    for (const child of children) {
      if (!child.startsWith("_")) pending.push(name === "" ? child : `${name}/${child}`);
    }
  }
}

export class Catalog {
  private names: string[] | null = null;
  private building: Promise<string[]> | null = null;
  // names pushed (or deleted) while the first walk runs, which it may already have passed
  private readonly addedDuringBuild = new Set<string>();
  private readonly removedDuringBuild = new Set<string>();

  constructor(
    private readonly driver: StorageDriver,
    /** the names from the metadata index, or null while it is not built (then the tree is walked) */
    private readonly indexed: () => Promise<string[]> | null = () => null,
  ) {}

  /** Every repository with manifests, sorted by bytes. */
  async all(): Promise<readonly string[]> {
    if (this.names) return this.names;
    // a failed walk (EMFILE, EIO) must not be remembered: the next request walks again
    this.building ??= this.build().catch((error: unknown) => {
      this.building = null;
      throw error;
    });
    return this.building;
  }

  /** Records a repository that just received a manifest. */
  add(name: string): void {
    this.removedDuringBuild.delete(name);
    if (!this.names) {
      if (this.building) this.addedDuringBuild.add(name);
      return; // not built yet: the walk will find it
    }
    const index = upperBound(this.names, name);
    if (this.names[index - 1] !== name) this.names.splice(index, 0, name);
  }

  /** Forgets a repository that was deleted as a whole. */
  remove(name: string): void {
    this.addedDuringBuild.delete(name);
    if (!this.names) {
      if (this.building) this.removedDuringBuild.add(name);
      return;
    }
    const index = upperBound(this.names, name);
    if (this.names[index - 1] === name) this.names.splice(index - 1, 1);
  }

  /** Forgets the names (another replica may have added or deleted one): the next call reads them again. */
  forget(): void {
    if (!this.building) this.names = null;
  }

  private async build(): Promise<string[]> {
    const fromIndex = this.indexed();
    const found: string[] = fromIndex ? [...(await fromIndex)] : [];
    if (!fromIndex) for await (const entry of walkRepositories(this.driver)) if (entry.hasManifests) found.push(entry.name);
    for (const name of this.addedDuringBuild) if (!found.includes(name)) found.push(name);
    this.addedDuringBuild.clear();
    this.names = found.filter((name) => !this.removedDuringBuild.has(name)).sort(compareBytes);
    this.removedDuringBuild.clear();
    this.building = null;
    return this.names;
  }
}
