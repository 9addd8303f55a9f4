/**
 * The index's changes, each inside a transaction the caller opened (index.ts): what a manifest
 * push, a tag or manifest delete, a blob upload or unlink means for the tables, including the
 * GC queue (blobs.review_at: set when a blob has no reference left, cleared when it gains one).
 */
import type { SQL } from "bun";
import type { ManifestFacts } from "./facts.ts";
import { num, rowsOf, str } from "./rows.ts";

/**
 * Whether anything references the blob: a manifest as its config or layer, or a manifest's own
 * bytes. EXISTS, not count: a base layer shared by thousands of repositories must not cost a
 * scan of all its references on every push that mounts it.
 */
export async function isReferenced(tx: SQL, digest: string): Promise<boolean> {
  const [row] = rowsOf(await tx`
    SELECT CASE WHEN EXISTS (SELECT 1 FROM manifest_references WHERE child = ${digest} AND kind = 'blob')
                  OR EXISTS (SELECT 1 FROM manifests WHERE digest = ${digest}) THEN 1 ELSE 0 END AS referenced`);
  return row !== undefined && num(row, "referenced") === 1;
}

/** Puts each blob that has no reference left in the GC queue (its review time `reviewAt`). */
export async function queueIfUnreferenced(tx: SQL, digests: Iterable<string>, reviewAt: number): Promise<string[]> {
  const queued: string[] = [];
  // in digest order, as putManifest: two transactions on PostgreSQL lock shared blobs' rows alike
  for (const digest of [...new Set(digests)].sort()) {
    if (await isReferenced(tx, digest)) continue;
    await tx`UPDATE blobs SET review_at = ${reviewAt} WHERE digest = ${digest} AND review_at IS NULL`;
    queued.push(digest);
  }
  return queued;
}

export async function putManifest(tx: SQL, facts: ManifestFacts, tag: string | null, actor: string, now: number): Promise<void> {
  const { repository, digest } = facts;
  await tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${repository}, ${now}, ${now})
           ON CONFLICT (name) DO UPDATE SET pushed_at = ${now}`;
  await tx`INSERT INTO manifests (repository, digest, media_type, size, total_size, artifact_type, subject, config_digest,
             platforms, labels, annotations, created, pushed_at, last_pulled_at, pull_count)
           VALUES (${repository}, ${digest}, ${facts.mediaType}, ${facts.size}, ${facts.totalSize}, ${facts.artifactType},
             ${facts.subject}, ${facts.configDigest}, ${JSON.stringify(facts.platforms)}, ${JSON.stringify(facts.labels)},
             ${JSON.stringify(facts.annotations)}, ${facts.created}, ${now}, ${null}, ${0})
           ON CONFLICT (repository, digest) DO UPDATE SET pushed_at = ${now}`;
  await tx`DELETE FROM manifest_references WHERE repository = ${repository} AND digest = ${digest}`;
  for (const reference of facts.references) {
    await tx`INSERT INTO manifest_references (repository, digest, child, kind, size)
             VALUES (${repository}, ${digest}, ${reference.digest}, ${reference.kind}, ${reference.size})`;
  }
  // the manifest's bytes and every config and layer it names are referenced now (rows locked in
  // digest order: pushes sharing layers on PostgreSQL would otherwise deadlock)
  const blobs = [{ digest, size: facts.size }, ...facts.references.filter((r) => r.kind === "blob")].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  for (const blob of blobs) {
    await tx`INSERT INTO blobs (digest, size, created_at, review_at) VALUES (${blob.digest}, ${blob.size}, ${now}, ${null})
             ON CONFLICT (digest) DO UPDATE SET review_at = NULL`;
  }
  if (tag !== null) await putTag(tx, repository, tag, digest, actor, now);
}

export async function putTag(tx: SQL, repository: string, tag: string, digest: string, actor: string, now: number): Promise<void> {
  const [previous] = rowsOf(await tx`SELECT digest FROM tags WHERE repository = ${repository} AND tag = ${tag}`);
  if (previous && str(previous, "digest") === digest) return;
  await tx`INSERT INTO tags (repository, tag, digest, updated_at) VALUES (${repository}, ${tag}, ${digest}, ${now})
           ON CONFLICT (repository, tag) DO UPDATE SET digest = ${digest}, updated_at = ${now}`;
  await history(tx, repository, tag, digest, actor, now);
}

export async function deleteTag(tx: SQL, repository: string, tag: string, actor: string, now: number): Promise<void> {
  const removed = rowsOf(await tx`DELETE FROM tags WHERE repository = ${repository} AND tag = ${tag} RETURNING tag`);
  if (removed.length > 0) await history(tx, repository, tag, null, actor, now);
}

/** Removes a manifest, its references and the tags naming it; returns the blobs queued for GC. */
export async function deleteManifest(tx: SQL, repository: string, digest: string, actor: string, now: number, reviewAt: number): Promise<string[]> {
  const children = rowsOf(await tx`
    SELECT child FROM manifest_references WHERE repository = ${repository} AND digest = ${digest} AND kind = 'blob'`).map((row) => str(row, "child"));
  const tags = rowsOf(await tx`DELETE FROM tags WHERE repository = ${repository} AND digest = ${digest} RETURNING tag`);
  for (const row of tags) await history(tx, repository, str(row, "tag"), null, actor, now);
  await tx`DELETE FROM manifest_references WHERE repository = ${repository} AND digest = ${digest}`;
  await tx`DELETE FROM manifests WHERE repository = ${repository} AND digest = ${digest}`;
  return queueIfUnreferenced(tx, [digest, ...children], reviewAt);
}

/** A blob pushed or mounted into a repository; queued when nothing references it (yet). */
export async function putBlob(tx: SQL, repository: string, digest: string, size: number, now: number, reviewAt: number): Promise<boolean> {
  const referenced = await isReferenced(tx, digest);
  const review = referenced ? null : reviewAt;
  await tx`INSERT INTO blobs (digest, size, created_at, review_at) VALUES (${digest}, ${size}, ${now}, ${review})
           ON CONFLICT (digest) DO UPDATE SET size = ${size}, review_at = ${review}`;
  await tx`INSERT INTO repository_blobs (repository, digest, linked_at) VALUES (${repository}, ${digest}, ${now})
           ON CONFLICT (repository, digest) DO NOTHING`;
  return !referenced;
}

async function history(tx: SQL, repository: string, tag: string, digest: string | null, actor: string, now: number): Promise<void> {
  await tx`INSERT INTO tag_history (id, repository, tag, digest, at, actor)
           VALUES (${crypto.randomUUID()}, ${repository}, ${tag}, ${digest}, ${now}, ${actor})`;
}
