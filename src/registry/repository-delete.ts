/**
 * Deleting a whole repository: its manifests, tags, layer links, uploads and Berth's referrers
 * of it, never a repository nested below it (NAME/other). Journaled like every change: a crash
 * part-way is settled from the tree at the next start (reconcile.ts). The blobs only it used
 * wait in the GC queue ([gc] delay), as after a manifest delete.
 *
 * `deleteRepository` is the change itself, shared by `berth repo delete` (offline, under the
 * root's lock) and the running server (`RepositoryRemoval`, which adds locks, hooks, events
 * and its in-memory listings).
 */
import type { RequestInfo } from "../hooks/types.ts";
import type { MetadataIndex } from "../metadata/index.ts";
import { manifestsOf, tagCount } from "../metadata/reads.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { parseDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import type { Catalog } from "./catalog.ts";
import { manifestTarget } from "./event-targets.ts";
import type { Listings } from "./listings.ts";
import type { ManifestStore } from "./manifests.ts";
import type { RegistryEvents } from "./registry-events.ts";
import type { RepositoryLock } from "./repository-lock.ts";

/** The tree of one repository, without the repositories nested below it. */
export async function deleteRepositoryTree(driver: StorageDriver, name: string): Promise<void> {
  // _manifests first: from then on no listing shows the repository, whatever a crash leaves
  await driver.delete(paths.manifestsRoot(name));
  await driver.delete(`${paths.repository(name)}/_layers`);
  await driver.delete(paths.uploadsRoot(name));
  await driver.delete(`${paths.berthRoot()}/referrers/${name}/_subjects`);
  await driver.delete(paths.referrersBuilt(name));
  if ((await driver.list(paths.repository(name))).length === 0) await driver.delete(paths.repository(name));
}

/** True when the tree has anything of the repository itself (manifests, layer links, uploads) or the index knows it. */
export async function repositoryPresent(driver: StorageDriver, index: MetadataIndex, name: string): Promise<boolean> {
  const children = await driver.list(paths.repository(name));
  return children.some((child) => child.startsWith("_")) || (await index.hasRepository(name));
}

export interface RepositoryDeleteDeps {
  driver: StorageDriver;
  index: MetadataIndex;
  tree: TreeReader;
}

/** The journaled change: tree first, then the index. @returns the blobs queued for GC */
export async function deleteRepository({ driver, index, tree }: RepositoryDeleteDeps, name: string, actor: string): Promise<string[]> {
  let queued: string[] = [];
  await index.change({ repository: name, digest: null, tag: null }, tree, () => deleteRepositoryTree(driver, name), async (tx, _, now) => {
    queued = await index.repositoryDeleted(tx, name, actor, now);
  });
  return queued;
}

/** What DELETE /api/v1/repositories/<name> answers. */
export interface RepositoryDeleteReport {
  name: string;
  manifests: number;
  tags: number;
  /** blobs nothing else references, now waiting for GC */
  blobsQueued: number;
}

export interface RepositoryRemovalDeps extends RepositoryDeleteDeps {
  manifests: ManifestStore;
  catalog: Catalog;
  listings: Listings;
  repositoryLocks: RepositoryLock;
}

/** A repository deleted on a running server. */
export class RepositoryRemoval {
  constructor(
    private readonly deps: RepositoryRemovalDeps,
    private readonly events: RegistryEvents,
  ) {}

  /**
   * Under the repository's exclusive lock (no push or delete in it meanwhile): asks
   * `manifest.delete` for every manifest before changing anything, so a plugin protecting one
   * refuses the whole delete (403 DENIED); then deletes, and announces one `delete` per manifest.
   * @throws RegistryError NAME_UNKNOWN, DENIED
   */
  async delete(name: string, request: RequestInfo): Promise<RepositoryDeleteReport> {
    const { driver, index, catalog, manifests, listings, repositoryLocks } = this.deps;
    const { report, deleted } = await repositoryLocks.exclusive(name, async () => {
      if (!(await repositoryPresent(driver, index, name))) {
        throw new RegistryError("NAME_UNKNOWN", { message: `Repository ${name} is not known to this registry`, detail: { name } });
      }
      if (listings.isBuilt) await listings.verify(name); // the index lists what the tree has
      const sql = index.database.sql;
      const deleted = await manifestsOf(sql, name);
      const tags = await tagCount(sql, name);
      for (const manifest of deleted) {
        await this.events.ask({ hook: "manifest.delete", repository: name, digest: manifest.digest, mediaType: manifest.mediaType, request });
      }
      let queued: string[];
      try {
        queued = await deleteRepository(this.deps, name, request.actor);
      } finally {
        manifests.forgetRepository(name); // also after a failure part-way: cached tags may name what is gone
      }
      catalog.remove(name);
      const report: RepositoryDeleteReport = { name, manifests: deleted.length, tags, blobsQueued: queued.length };
      return { report, deleted };
    });
    for (const manifest of deleted) {
      await this.events.announce("delete", manifestTarget(name, parseDigest(manifest.digest), manifest.mediaType, manifest.size), request);
    }
    return report;
  }
}
