/**
 * Byte counts for quotas and retention previews: what a set of repositories stores (each blob
 * once), and what GC would free once some manifests are gone. Blobs are the manifests' own
 * bytes, their configs and layers, and the blobs linked into a repository that no manifest
 * anywhere references (uploads not yet named by a manifest, and what waits for GC: they take
 * space until GC). A blob linked here but referenced only by another repository's manifests
 * counts there.
 */
import type { SQL } from "bun";
import { num, rowsOf, str } from "./rows.ts";

/** at most this many names in one IN (...) list */
const BATCH = 500;

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

export async function storedBytesUnder(sql: SQL, repositories: readonly string[]): Promise<number> {
  const sizes = new Map<string, number>();
  for (const names of batches(repositories)) {
    const list = sql([...names]);
    const rows = await sql`
      SELECT digest, size FROM manifests WHERE repository IN ${list}
      UNION SELECT child AS digest, size FROM manifest_references WHERE kind = 'blob' AND repository IN ${list}
      UNION SELECT b.digest AS digest, b.size AS size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
        WHERE rb.repository IN ${list} AND b.review_at IS NOT NULL`;
    for (const row of rowsOf(rows)) sizes.set(str(row, "digest"), num(row, "size"));
  }
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

/** Blobs (manifest bytes, configs, layers) no manifest outside `manifests` references. */
export async function freedBytes(sql: SQL, manifests: ReadonlyArray<{ repository: string; digest: string }>): Promise<number> {
  // each blob the set references, and by how many of its manifests
  const candidates = new Map<string, { size: number; references: number }>();
  const count = (digest: string, size: number) => {
    const entry = candidates.get(digest) ?? { size, references: 0 };
    entry.references++;
    candidates.set(digest, entry);
  };
  for (const { repository, digest } of manifests) {
    const own = rowsOf(await sql`SELECT size FROM manifests WHERE repository = ${repository} AND digest = ${digest}`)[0];
    if (!own) continue;
    count(digest, num(own, "size"));
    for (const row of rowsOf(await sql`SELECT child, size FROM manifest_references WHERE repository = ${repository} AND digest = ${digest} AND kind = 'blob'`)) {
      count(str(row, "child"), num(row, "size"));
    }
  }
  // how many references each candidate has in the whole registry, a batch of digests per query
  const everywhere = new Map<string, number>();
  const add = (rows: unknown) => {
    for (const row of rowsOf(rows)) everywhere.set(str(row, "digest"), (everywhere.get(str(row, "digest")) ?? 0) + num(row, "n"));
  };
  for (const digests of batches([...candidates.keys()])) {
    const list = sql(digests);
    add(await sql`SELECT digest, count(*) AS n FROM manifests WHERE digest IN ${list} GROUP BY digest`);
    add(await sql`SELECT child AS digest, count(*) AS n FROM manifest_references WHERE kind = 'blob' AND child IN ${list} GROUP BY child`);
  }
  let freed = 0;
  for (const [digest, { size, references }] of candidates) if ((everywhere.get(digest) ?? 0) <= references) freed += size;
  return freed;
}
