/**
 * Settles what one journal entry may have left half done: the tree says what is true, and the
 * index is made to agree for that repository's manifest, tag, or (GC) blob. Used at start for
 * entries a crash left, and at once when a change failed part-way.
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
  } else {
    if (digest) await reconcileManifest(tx, tree, entry.repository, digest, now, reviewAt);
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

async function reconcileBlob(tx: SQL, tree: TreeReader, digest: Digest, reviewAt: number): Promise<void> {
  const d = formatDigest(digest);
  const size = await tree.blobSize(digest);
  if (size === null) {
    await tx`DELETE FROM repository_blobs WHERE digest = ${d}`;
    await tx`DELETE FROM blobs WHERE digest = ${d}`;
    return;
  }
  await tx`UPDATE blobs SET size = ${size} WHERE digest = ${d}`;
  await queueIfUnreferenced(tx, [d], reviewAt);
}
