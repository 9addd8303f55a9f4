/**
 * Settles what one journal entry may have left half done: the tree says what is true, and the
 * index is made to agree for that repository's manifest, tag and layer link (a blob pushed,
 * mounted or unlinked), or for a blob (GC). Used at start for entries a crash left, and at once
 * when a change failed part-way.
 */
import type { SQL } from "bun";
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import { manifestFacts } from "./facts.ts";
import { rowsOf, str } from "./rows.ts";
import type { TreeReader } from "./tree.ts";
import { deleteManifest, deleteTag, putManifest, putTag, queueIfUnreferenced } from "./writes.ts";

export interface JournalEntry {
  id: string;
  /** "" for a blob-level change (GC) */
  repository: string;
  digest: string | null;
  tag: string | null;
}

const ACTOR = "berth:recovery";

export async function reconcile(tx: SQL, tree: TreeReader, entry: JournalEntry, now: number, reviewAt: number): Promise<void> {
  const digest = entry.digest === null ? null : parseDigest(entry.digest);
  if (entry.repository === "") {
    if (digest) await reconcileBlob(tx, tree, digest, reviewAt);
  } else if (entry.digest === null && entry.tag === null) {
    await reconcileRepository(tx, tree, entry.repository, now, reviewAt); // a whole repository (repo delete)
  } else {
    if (digest) {
      await reconcileManifest(tx, tree, entry.repository, digest, now, reviewAt);
      await reconcileLayer(tx, tree, entry.repository, digest, now, reviewAt);
    }
    // tags the index has on that digest, and the one the change named
    const tags = new Set<string>(entry.tag === null ? [] : [entry.tag]);
    if (entry.digest !== null) {
      for (const row of rowsOf(await tx`SELECT tag FROM tags WHERE repository = ${entry.repository} AND digest = ${entry.digest}`)) {
        tags.add(str(row, "tag"));
      }
    }
    for (const tag of tags) await reconcileTag(tx, tree, entry.repository, tag, now);
  }
  await tx`DELETE FROM journal WHERE id = ${entry.id}`;
}

/**
 * Brings one repository's rows (manifests, tags, layer links, its catalog entry) in line with
 * the tree: after a repository delete a crash interrupted, and for `berth fsck --repair`.
 * A repository left with no manifest and no tag leaves the catalog.
 */
export async function reconcileRepository(tx: SQL, tree: TreeReader, repository: string, now: number, reviewAt: number): Promise<void> {
  const inTree = (await tree.manifestDigests(repository)).map(formatDigest);
  const indexed = new Set(rowsOf(await tx`SELECT digest FROM manifests WHERE repository = ${repository}`).map((row) => str(row, "digest")));
  for (const digest of inTree) if (!indexed.delete(digest)) await reconcileManifest(tx, tree, repository, parseDigest(digest), now, reviewAt);
  for (const digest of indexed) await reconcileManifest(tx, tree, repository, parseDigest(digest), now, reviewAt);
  const treeTags = await tree.tags(repository);
  const tags = new Set(rowsOf(await tx`SELECT tag FROM tags WHERE repository = ${repository}`).map((row) => str(row, "tag")));
  for (const { tag } of treeTags) tags.add(tag);
  for (const tag of tags) await reconcileTag(tx, tree, repository, tag, now);

  const layers = new Set(rowsOf(await tx`SELECT digest FROM repository_blobs WHERE repository = ${repository}`).map((row) => str(row, "digest")));
  for (const digest of (await tree.layers(repository)).map(formatDigest)) {
    if (layers.delete(digest)) continue;
    await tx`INSERT INTO repository_blobs (repository, digest, linked_at) VALUES (${repository}, ${digest}, ${now}) ON CONFLICT (repository, digest) DO NOTHING`;
  }
  for (const digest of layers) await tx`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${digest}`;

  if (inTree.length + treeTags.length > 0) {
    await tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${repository}, ${now}, ${now}) ON CONFLICT (name) DO NOTHING`;
  } else {
    await tx`DELETE FROM repositories WHERE name = ${repository}`;
  }
}

export async function reconcileManifest(tx: SQL, tree: TreeReader, repository: string, digest: Digest, now: number, reviewAt: number): Promise<void> {
  const stored = await tree.manifest(repository, digest);
  if (stored === null) {
    await deleteManifest(tx, repository, formatDigest(digest), ACTOR, now, reviewAt);
    return;
  }
  const blobSizes = new Map<string, number>();
  for (const blob of stored.parsed.blobs) {
    const size = await tree.blobSize(parseDigest(blob.digest));
    if (size !== null) blobSizes.set(blob.digest, size);
  }
  const facts = manifestFacts({ repository, digest, bytes: stored.bytes, parsed: stored.parsed, config: stored.config, blobSizes });
  await putManifest(tx, facts, null, ACTOR, now);
}

export async function reconcileTag(tx: SQL, tree: TreeReader, repository: string, tag: string, now: number): Promise<void> {
  const current = await tree.tag(repository, tag);
  if (current === null) await deleteTag(tx, repository, tag, ACTOR, now);
  else await putTag(tx, repository, tag, formatDigest(current), ACTOR, now);
}

/** The repository's _layers link to a blob, and the blob's row when its data is stored. */
async function reconcileLayer(tx: SQL, tree: TreeReader, repository: string, digest: Digest, now: number, reviewAt: number): Promise<void> {
  const d = formatDigest(digest);
  if (!(await tree.layerLinked(repository, digest))) {
    await tx`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${d}`;
    return;
  }
  const size = await tree.blobSize(digest);
  if (size !== null) {
    await tx`INSERT INTO blobs (digest, size, created_at, review_at) VALUES (${d}, ${size}, ${now}, ${null})
             ON CONFLICT (digest) DO UPDATE SET size = ${size}`;
  }
  await tx`INSERT INTO repository_blobs (repository, digest, linked_at) VALUES (${repository}, ${d}, ${now}) ON CONFLICT (repository, digest) DO NOTHING`;
  await queueIfUnreferenced(tx, [d], reviewAt);
}

async function reconcileBlob(tx: SQL, tree: TreeReader, digest: Digest, reviewAt: number): Promise<void> {
  const d = formatDigest(digest);
  const size = await tree.blobSize(digest);
  if (size === null) {
    await tx`DELETE FROM repository_blobs WHERE digest = ${d}`;
    await tx`DELETE FROM blobs WHERE digest = ${d}`;
    return;
  }
  await tx`UPDATE blobs SET size = ${size} WHERE digest = ${d}`;
  // GC removes the links before the data: those it removed before the crash go from the index too
  for (const row of rowsOf(await tx`SELECT repository FROM repository_blobs WHERE digest = ${d}`)) {
    const repository = str(row, "repository");
    if (!(await tree.layerLinked(repository, digest))) await tx`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${d}`;
  }
  await queueIfUnreferenced(tx, [d], reviewAt);
}
