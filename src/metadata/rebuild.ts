/**
 * Builds the index from the directory tree (the source of truth): `berth index rebuild`, and
 * the first start over an existing registry:2 tree, in the background while Berth serves.
 * Each repository is replaced in one transaction under the caller's repository lock, so pushes
 * and deletes meanwhile are neither lost nor undone. Repositories are read a few at a time (the
 * tree walk waits for the disk) and committed without waiting for it: the rebuild is marked
 * done with a durable commit at the end, which puts all of them on disk; a crash before that
 * leaves the index not built, and the next start rebuilds.
 */
import type { SQL } from "bun";
import { formatDigest, parseDigest } from "../oci/digest.ts";
import { type ManifestFacts, manifestFacts } from "./facts.ts";
import type { MetadataIndex } from "./index.ts";
import { rowsOf, str } from "./rows.ts";
import type { TreeReader } from "./tree.ts";
import { forEachConcurrently } from "../util/concurrently.ts";
import { putManifest, queueIfUnreferenced } from "./writes.ts";

export interface RebuildProgress {
  phase: "blobs" | "repositories" | "done";
  blobs: number;
  repositories: number;
  manifests: number;
}

export interface RebuildOptions {
  /** runs `work` while no change to `repository` can happen (the registry's repository lock) */
  exclusive?: <T>(repository: string, work: () => Promise<T>) => Promise<T>;
  progress?: (progress: RebuildProgress) => void;
  delayMs: number;
}

const ACTOR = "berth:rebuild";
const BLOB_BATCH = 500;
const REPOSITORIES_AT_ONCE = 8;
/** the rebuild's commits: made durable by markBuilt's at the end (see the file comment) */
const RELAXED = { durable: false };

export async function rebuildIndex(index: MetadataIndex, tree: TreeReader, options: RebuildOptions): Promise<RebuildProgress> {
  const db = index.database;
  const exclusive = options.exclusive ?? (<T>(_: string, work: () => Promise<T>) => work());
  const progress: RebuildProgress = { phase: "blobs", blobs: 0, repositories: 0, manifests: 0 };
  const started = Date.now();

  let batch: Array<{ digest: string; size: number }> = [];
  const flush = async () => {
    const rows = batch;
    batch = [];
    await db.write(async (tx) => {
      for (const blob of rows) {
        await tx`INSERT INTO blobs (digest, size, created_at, review_at) VALUES (${blob.digest}, ${blob.size}, ${started}, ${null})
                 ON CONFLICT (digest) DO UPDATE SET size = ${blob.size}`;
      }
    }, RELAXED);
    options.progress?.(progress);
  };
  const inTree = new Set<string>();
  for await (const blob of tree.blobs()) {
    const digest = formatDigest(blob.digest);
    inTree.add(digest);
    batch.push({ digest, size: blob.size });
    progress.blobs++;
    if (batch.length >= BLOB_BATCH) await flush();
  }
  await flush();

  progress.phase = "repositories";
  const repositories = new Set<string>();
  await forEachConcurrently(tree.repositories(), REPOSITORIES_AT_ONCE, async (repository) => {
    repositories.add(repository);
    const manifests = await exclusive(repository, () => rebuildRepository(index, tree, repository));
    progress.manifests += manifests;
    progress.repositories++;
    options.progress?.(progress);
  });

  // Repositories the index has and the walk did not see: gone, or created (while the registry
  // serves) after the walk went past their name. Look again under the lock: forgetting one that
  // exists would drop its references, and GC would then take blobs its manifests use.
  for (const row of rowsOf(await db.sql`SELECT name FROM repositories`)) {
    const name = str(row, "name");
    if (repositories.has(name)) continue;
    await exclusive(name, async () => {
      if (await inTreeNow(tree, name)) {
        const manifests = await rebuildRepository(index, tree, name);
        progress.manifests += manifests;
        progress.repositories++;
      } else {
        await db.write((tx) => forgetRepository(tx, name), RELAXED);
      }
    });
  }
  // blobs the index knew that are no longer stored (one uploaded after the walk is kept)
  const gone: string[] = [];
  for (const row of rowsOf(await db.sql`SELECT digest FROM blobs`)) {
    const digest = str(row, "digest");
    if (!inTree.has(digest) && (await tree.blobSize(parseDigest(digest))) === null) gone.push(digest);
  }
  await db.write(async (tx) => {
    for (const digest of gone) {
      await tx`DELETE FROM repository_blobs WHERE digest = ${digest}`;
      await tx`DELETE FROM blobs WHERE digest = ${digest}`;
    }
    // the queue for the blobs nobody references
    const now = Date.now();
    const unqueued = rowsOf(await tx`SELECT digest FROM blobs WHERE review_at IS NULL`).map((row) => str(row, "digest"));
    await queueIfUnreferenced(tx, unqueued, now + options.delayMs);
  }, RELAXED);
  await index.loadReviewQueue();
  await index.markBuilt();
  progress.phase = "done";
  options.progress?.(progress);
  return progress;
}

/** Replaces the repository's rows with what the tree holds. @returns its manifest count */
async function rebuildRepository(index: MetadataIndex, tree: TreeReader, repository: string): Promise<number> {
  const digests = await tree.manifestDigests(repository);
  const facts: ManifestFacts[] = [];
  for (const digest of digests) {
    const stored = await tree.manifest(repository, digest);
    if (stored === null) continue;
    const blobSizes = new Map<string, number>();
    for (const blob of stored.parsed.blobs) {
      const size = await tree.blobSize(parseDigest(blob.digest));
      if (size !== null) blobSizes.set(blob.digest, size);
    }
    facts.push(manifestFacts({ repository, digest, bytes: stored.bytes, parsed: stored.parsed, config: stored.config, blobSizes }));
  }
  const tags = await tree.tags(repository);
  const layers = await tree.layers(repository);
  const uploads = await tree.uploads(repository);
  const now = Date.now();
  const linked = new Set(layers.map(formatDigest));
  await index.database.write(async (tx) => {
    await forgetManifests(tx, repository);
    await tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${repository}, ${now}, ${now})`;
    for (const fact of facts) await putManifest(tx, fact, null, ACTOR, now);
    for (const { tag, digest } of tags) {
      await tx`INSERT INTO tags (repository, tag, digest, updated_at) VALUES (${repository}, ${tag}, ${formatDigest(digest)}, ${now})`;
    }
    for (const digest of linked) {
      await tx`INSERT INTO repository_blobs (repository, digest, linked_at) VALUES (${repository}, ${digest}, ${now})
               ON CONFLICT (repository, digest) DO NOTHING`;
    }
    // a session started since the listing has its row already (ON CONFLICT): it stays
    for (const upload of uploads) {
      await tx`INSERT INTO uploads (id, repository, started_at) VALUES (${upload.id}, ${repository}, ${upload.startedAt}) ON CONFLICT (id) DO NOTHING`;
    }
    // uploads and mounts do not take the repository's lock: a link made since the listing stays
    for (const row of rowsOf(await tx`SELECT digest FROM repository_blobs WHERE repository = ${repository}`)) {
      const digest = str(row, "digest");
      if (!linked.has(digest) && !(await tree.layerLinked(repository, parseDigest(digest)))) {
        await tx`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${digest}`;
      }
    }
  }, RELAXED);
  return facts.length;
}

/** Whether the tree holds the repository's manifests or tags now (what the walk would list, and fsck looks for). */
async function inTreeNow(tree: TreeReader, repository: string): Promise<boolean> {
  return (await tree.manifestDigests(repository)).length > 0 || (await tree.tags(repository)).length > 0;
}

/** Drops a repository's rows (history stays: it is history). */
async function forgetRepository(tx: SQL, repository: string): Promise<void> {
  await forgetManifests(tx, repository);
  await tx`DELETE FROM repository_blobs WHERE repository = ${repository}`;
}

/** Drops a repository's manifests, tags and catalog entry; its layer links stay. */
async function forgetManifests(tx: SQL, repository: string): Promise<void> {
  await tx`DELETE FROM manifest_references WHERE repository = ${repository}`;
  await tx`DELETE FROM manifests WHERE repository = ${repository}`;
  await tx`DELETE FROM tags WHERE repository = ${repository}`;
  await tx`DELETE FROM repositories WHERE name = ${repository}`;
}
