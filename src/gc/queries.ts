/**
 * What garbage collection reads from and records in the metadata index: the blobs due for
 * review, the untagged manifests nobody needs, and the gc_runs history.
 */
import type { SQL } from "bun";
import { num, optNum, optStr, rowsOf, str } from "../metadata/rows.ts";

export interface WaitingBlob {
  digest: string;
  size: number;
  /** ms since the epoch */
  reviewAt: number;
}

export interface UntaggedManifest {
  repository: string;
  digest: string;
}

export interface GcRunRow {
  id: string;
  startedAt: number;
  finishedAt: number | null;
  dryRun: boolean;
  blobsDeleted: number;
  bytesFreed: number;
  manifestsDeleted: number;
  error: string | null;
}

/** Blobs in the GC queue, soonest first; `dueBy` keeps only those due by then. */
export async function waitingBlobs(sql: SQL, dueBy: number | null, limit: number): Promise<WaitingBlob[]> {
  const rows =
    dueBy === null
      ? await sql`SELECT digest, size, review_at FROM blobs WHERE review_at IS NOT NULL ORDER BY review_at, digest LIMIT ${limit}`
      : await sql`SELECT digest, size, review_at FROM blobs WHERE review_at IS NOT NULL AND review_at <= ${dueBy} ORDER BY review_at, digest LIMIT ${limit}`;
  return rowsOf(rows).map((row) => ({ digest: str(row, "digest"), size: num(row, "size"), reviewAt: num(row, "review_at") }));
}

export async function waitingCount(sql: SQL): Promise<number> {
  const [row] = rowsOf(await sql`SELECT count(*) AS n FROM blobs WHERE review_at IS NOT NULL`);
  return row ? num(row, "n") : 0;
}

/** A blob still in the queue, due by `now` (its review was not pushed back) — read under the blob's exclusive lock. */
export async function stillDue(sql: SQL, digest: string, now: number): Promise<boolean> {
  const rows = rowsOf(await sql`SELECT 1 AS due FROM blobs WHERE digest = ${digest} AND review_at IS NOT NULL AND review_at <= ${now}`);
  return rows.length > 0;
}

export async function repositoriesLinking(sql: SQL, digest: string): Promise<string[]> {
  return rowsOf(await sql`SELECT repository FROM repository_blobs WHERE digest = ${digest}`).map((row) => str(row, "repository"));
}

/**
 * Manifests with no tag and no pull (else push) since `cutoff`, that are not a child of an
 * index in the same repository and not a referrer whose subject is still there.
 */
export async function untaggedManifests(sql: SQL, cutoff: number): Promise<UntaggedManifest[]> {
  const rows = await sql`
    SELECT m.repository, m.digest FROM manifests m
    WHERE COALESCE(m.last_pulled_at, m.pushed_at) < ${cutoff}
      AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest)
      AND NOT EXISTS (SELECT 1 FROM manifest_references r
                      WHERE r.repository = m.repository AND r.child = m.digest AND r.kind = 'manifest')
      AND (m.subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository = m.repository AND s.digest = m.subject))
    ORDER BY m.repository, m.digest`;
  return rowsOf(rows).map((row) => ({ repository: str(row, "repository"), digest: str(row, "digest") }));
}

export async function recordRunStart(sql: SQL, id: string, startedAt: number, dryRun: boolean): Promise<void> {
  await sql`INSERT INTO gc_runs (id, started_at, finished_at, dry_run, blobs_deleted, bytes_freed, manifests_deleted, error)
            VALUES (${id}, ${startedAt}, ${null}, ${dryRun ? 1 : 0}, ${0}, ${0}, ${0}, ${null})`;
}

export async function recordRunEnd(sql: SQL, run: Omit<GcRunRow, "startedAt" | "dryRun">): Promise<void> {
  await sql`UPDATE gc_runs SET finished_at = ${run.finishedAt}, blobs_deleted = ${run.blobsDeleted}, bytes_freed = ${run.bytesFreed},
            manifests_deleted = ${run.manifestsDeleted}, error = ${run.error} WHERE id = ${run.id}`;
}

export async function lastRuns(sql: SQL, limit: number): Promise<GcRunRow[]> {
  const rows = await sql`SELECT id, started_at, finished_at, dry_run, blobs_deleted, bytes_freed, manifests_deleted, error
                         FROM gc_runs ORDER BY started_at DESC LIMIT ${limit}`;
  return rowsOf(rows).map((row) => ({
    id: str(row, "id"),
    startedAt: num(row, "started_at"),
    finishedAt: optNum(row, "finished_at"),
    dryRun: num(row, "dry_run") !== 0,
    blobsDeleted: num(row, "blobs_deleted"),
    bytesFreed: num(row, "bytes_freed"),
    manifestsDeleted: num(row, "manifests_deleted"),
    error: optStr(row, "error"),
  }));
}
