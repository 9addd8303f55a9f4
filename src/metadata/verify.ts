/**
 * Brings one repository's rows in line with the tree when they differ: another program
 * (Distribution, `registry garbage-collect`, a restore) may have written the tree while Berth
 * was stopped. Berth checks each repository once per process, on its first listing, which costs
 * what reading its tags cost before the index (two directory listings and the tag links).
 */
import { formatDigest, parseDigest } from "../oci/digest.ts";
import type { MetadataIndex } from "./index.ts";
import { reconcileManifest, reconcileTag } from "./reconcile.ts";
import { rowsOf, str } from "./rows.ts";
import type { TreeReader } from "./tree.ts";

/** @returns how many manifests and tags were corrected */
export async function verifyRepository(index: MetadataIndex, tree: TreeReader, repository: string, delayMs: number): Promise<number> {
  const sql = index.database.sql;
  const indexedManifests = new Set(rowsOf(await sql`SELECT digest FROM manifests WHERE repository = ${repository}`).map((row) => str(row, "digest")));
  const indexedTags = new Map(rowsOf(await sql`SELECT tag, digest FROM tags WHERE repository = ${repository}`).map((row) => [str(row, "tag"), str(row, "digest")]));
  const treeManifests = await tree.manifestDigests(repository);
  const treeTags = await tree.tags(repository);

  const manifests = treeManifests.filter((digest) => !indexedManifests.delete(formatDigest(digest)));
  const gone = [...indexedManifests];
  const tags = treeTags.filter(({ tag, digest }) => {
    const known = indexedTags.get(tag);
    indexedTags.delete(tag);
    return known !== formatDigest(digest);
  });
  const untagged = [...indexedTags.keys()];
  const changes = manifests.length + gone.length + tags.length + untagged.length;
  if (changes === 0) return 0;
  const now = Date.now();
  await index.database.write(async (tx) => {
    if (manifests.length > 0 || gone.length > 0 || tags.length > 0) {
      await tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${repository}, ${now}, ${now}) ON CONFLICT (name) DO NOTHING`;
    }
    for (const digest of manifests) await reconcileManifest(tx, tree, repository, digest, now, now + delayMs);
    for (const digest of gone) await reconcileManifest(tx, tree, repository, parseDigest(digest), now, now + delayMs);
    for (const { tag } of tags) await reconcileTag(tx, tree, repository, tag, now);
    for (const tag of untagged) await reconcileTag(tx, tree, repository, tag, now);
  });
  await index.loadReviewQueue();
  return changes;
}
