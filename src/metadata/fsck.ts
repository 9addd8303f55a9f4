/**
 * `berth fsck`: the tree against the index both ways (repositories, manifests, tags, layer
 * links, blobs and their sizes) and every blob's data against its digest. Checking only reads,
 * so it works beside a running server; a difference found there is checked once more after a
 * pause, since a change in flight (tree written, index not yet) looks like one for a moment.
 * `repairIndex` makes the index agree with the tree; it never changes the tree.
 */
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import type { MetadataIndex } from "./index.ts";
import { reconcileRepository } from "./reconcile.ts";
import { num, rowsOf, str } from "./rows.ts";
import type { TreeReader } from "./tree.ts";
import { queueIfUnreferenced } from "./writes.ts";

export type FindingKind =
  | "repository" // listed by one side only
  | "manifest"
  | "tag"
  | "layer"
  | "blob" // present on one side only, or sizes differ
  | "unreadable-manifest" // a revision link whose manifest is missing or not a manifest
  | "missing-blob" // referenced by an indexed manifest, not stored
  | "corrupt-blob"; // data that does not hash to its digest

export interface Finding {
  kind: FindingKind;
  /** the repository concerned, "" for a blob */
  repository: string;
  /** the blob or manifest concerned, when there is one */
  digest: string | null;
  message: string;
  /** true when making the index agree with the tree fixes it (`--repair`) */
  indexOnly: boolean;
}

export interface FsckProgress {
  phase: "blobs" | "repositories" | "done";
  blobs: number;
  bytes: number;
  repositories: number;
}

export interface FsckOptions {
  /** the digest the blob's data hashes to, or null when it is gone meanwhile */
  hash: (digest: Digest) => Promise<string | null>;
  progress?: (progress: FsckProgress) => void;
  /** ms to wait before checking a difference again (a server may be mid-change); 0: no second look */
  settleMs: number;
}

export async function checkIndex(index: MetadataIndex, tree: TreeReader, options: FsckOptions): Promise<Finding[]> {
  const sql = index.database.sql;
  const progress: FsckProgress = { phase: "blobs", blobs: 0, bytes: 0, repositories: 0 };
  const findings: Finding[] = [];
  const stored = new Map<string, number>();
  for await (const blob of tree.blobs()) {
    const digest = formatDigest(blob.digest);
    stored.set(digest, blob.size);
    const actual = await options.hash(blob.digest);
    if (actual !== null && actual !== digest) {
      findings.push({ kind: "corrupt-blob", repository: "", digest, message: `blob ${digest}: its data hashes to ${actual}`, indexOnly: false });
    }
    progress.blobs++;
    progress.bytes += blob.size;
    options.progress?.(progress);
  }
  const blobFindings = async () => {
    const found: Finding[] = [];
    const indexed = new Map(rowsOf(await sql`SELECT digest, size FROM blobs`).map((row) => [str(row, "digest"), num(row, "size")]));
    const current = await currentSizes(tree, stored, indexed);
    for (const [digest, size] of current) {
      const known = indexed.get(digest);
      if (known === undefined) found.push(blobFinding(`blob ${digest} (${size} bytes) is stored but not in the index`));
      else if (known !== size) found.push(blobFinding(`blob ${digest} is ${size} bytes but the index says ${known}`));
    }
    for (const digest of indexed.keys()) if (!current.has(digest)) found.push(blobFinding(`blob ${digest} is in the index but not stored`));
    return found;
  };
  let blobs = await blobFindings();
  if (blobs.length > 0 && options.settleMs > 0) {
    await Bun.sleep(options.settleMs);
    blobs = await blobFindings();
  }
  findings.push(...blobs);

  progress.phase = "repositories";
  const names = new Set<string>();
  for await (const name of tree.repositories()) names.add(name);
  const indexedNames = new Set(rowsOf(await sql`SELECT name FROM repositories`).map((row) => str(row, "name")));
  for (const name of [...new Set([...names, ...indexedNames])].sort()) {
    let found = await checkRepository(index, tree, name, names.has(name), stored);
    if (found.length > 0 && options.settleMs > 0) {
      await Bun.sleep(options.settleMs);
      found = await checkRepository(index, tree, name, names.has(name), stored);
    }
    findings.push(...found);
    progress.repositories++;
    options.progress?.(progress);
  }
  progress.phase = "done";
  options.progress?.(progress);
  return findings;
}

function blobFinding(message: string): Finding {
  return { kind: "blob", repository: "", digest: null, message, indexOnly: true };
}

/** The walk's sizes, updated for the digests the index disagrees on (a server may have written meanwhile). */
async function currentSizes(tree: TreeReader, walked: Map<string, number>, indexed: Map<string, number>): Promise<Map<string, number>> {
  const current = new Map(walked);
  for (const digest of new Set([...walked.keys(), ...indexed.keys()])) {
    if (walked.get(digest) === indexed.get(digest)) continue;
    const size = await tree.blobSize(parseDigest(digest));
    if (size === null) current.delete(digest);
    else current.set(digest, size);
  }
  return current;
}

async function checkRepository(index: MetadataIndex, tree: TreeReader, repository: string, listed: boolean, stored: Map<string, number>): Promise<Finding[]> {
  const sql = index.database.sql;
  const findings: Finding[] = [];
  const add = (kind: FindingKind, message: string, indexOnly = true, digest: string | null = null) =>
    findings.push({ kind, repository, digest, message: `${repository}: ${message}`, indexOnly });

  const inTree = (await tree.manifestDigests(repository)).map(formatDigest);
  const treeTags = await tree.tags(repository);
  const indexedRepository = rowsOf(await sql`SELECT 1 AS found FROM repositories WHERE name = ${repository}`).length > 0;
  const indexedManifests = new Set(rowsOf(await sql`SELECT digest FROM manifests WHERE repository = ${repository}`).map((row) => str(row, "digest")));
  if (!indexedRepository && inTree.length + treeTags.length > 0) add("repository", "repository is stored but not in the index");
  if (indexedRepository && !listed) add("repository", "repository is in the index but not stored");

  for (const digest of inTree) {
    if (indexedManifests.delete(digest)) continue;
    if ((await tree.manifest(repository, parseDigest(digest))) === null) {
      add("unreadable-manifest", `revision link ${digest} names a manifest that is missing or unreadable`, false);
    } else {
      add("manifest", `manifest ${digest} is stored but not in the index`);
    }
  }
  for (const digest of indexedManifests) add("manifest", `manifest ${digest} is in the index but not stored`);

  const indexedTags = new Map(rowsOf(await sql`SELECT tag, digest FROM tags WHERE repository = ${repository}`).map((row) => [str(row, "tag"), str(row, "digest")]));
  for (const { tag, digest } of treeTags) {
    const known = indexedTags.get(tag);
    indexedTags.delete(tag);
    const d = formatDigest(digest);
    if (known === undefined) add("tag", `tag ${tag} -> ${d} is stored but not in the index`);
    else if (known !== d) add("tag", `tag ${tag} points to ${d} but the index says ${known}`);
  }
  for (const [tag, digest] of indexedTags) add("tag", `tag ${tag} -> ${digest} is in the index but not stored`);

  const indexedLayers = new Set(rowsOf(await sql`SELECT digest FROM repository_blobs WHERE repository = ${repository}`).map((row) => str(row, "digest")));
  for (const digest of (await tree.layers(repository)).map(formatDigest)) {
    if (!indexedLayers.delete(digest)) add("layer", `layer link ${digest} is stored but not in the index`);
  }
  for (const digest of indexedLayers) add("layer", `layer link ${digest} is in the index but not stored`);

  const references = rowsOf(await sql`SELECT digest, child FROM manifest_references WHERE repository = ${repository} AND kind = 'blob'`);
  for (const row of references) {
    const child = str(row, "child");
    if (!stored.has(child) && (await tree.blobSize(parseDigest(child))) === null) {
      add("missing-blob", `manifest ${str(row, "digest")} references blob ${child}, which is not stored`, false, child);
    }
  }
  return findings;
}

/**
 * Makes the index agree with the tree wherever `findings` say it does not. Run only while no
 * server writes (the caller holds the root's lock). @returns how many findings it settled
 */
export async function repairIndex(index: MetadataIndex, tree: TreeReader, findings: readonly Finding[], delayMs: number): Promise<number> {
  const fixable = findings.filter((finding) => finding.indexOnly);
  const repositories = new Set(fixable.filter((finding) => finding.repository !== "").map((finding) => finding.repository));
  const now = Date.now();
  for (const repository of repositories) {
    await index.database.write((tx) => reconcileRepository(tx, tree, repository, now, now + delayMs));
  }
  if (fixable.some((finding) => finding.kind === "blob")) await repairBlobs(index, tree, now, now + delayMs);
  return fixable.length;
}

async function repairBlobs(index: MetadataIndex, tree: TreeReader, now: number, reviewAt: number): Promise<void> {
  const stored = new Map<string, number>();
  for await (const blob of tree.blobs()) stored.set(formatDigest(blob.digest), blob.size);
  await index.database.write(async (tx) => {
    const indexed = new Map(rowsOf(await tx`SELECT digest, size FROM blobs`).map((row) => [str(row, "digest"), num(row, "size")]));
    const added: string[] = [];
    for (const [digest, size] of stored) {
      const known = indexed.get(digest);
      indexed.delete(digest);
      if (known === size) continue;
      if (known === undefined) added.push(digest);
      await tx`INSERT INTO blobs (digest, size, created_at, review_at) VALUES (${digest}, ${size}, ${now}, ${null})
               ON CONFLICT (digest) DO UPDATE SET size = ${size}`;
    }
    for (const digest of indexed.keys()) {
      await tx`DELETE FROM repository_blobs WHERE digest = ${digest}`;
      await tx`DELETE FROM blobs WHERE digest = ${digest}`;
    }
    await queueIfUnreferenced(tx, added, reviewAt);
  });
}
