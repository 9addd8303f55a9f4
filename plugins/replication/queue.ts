/**
 * The replication queue: SQLite in the plugin's data directory, one row per thing to do on a
 * target (copy a tag, copy a manifest by digest, delete a tag or a manifest), and each rule's
 * last success and last error. Rows are committed with synchronous = FULL before the client's
 * push is answered, and removed only once done: a restart, even after kill -9, picks them up.
 * Like the webhook queue, every operation is one statement on one connection.
 */
import { SQL } from "bun";
import { openQueueDatabase } from "../../src/util/queue-database.ts";
import { join } from "node:path";

export type JobKind = "tag" | "digest" | "delete-tag" | "delete-digest";

export interface Job {
  seq: number;
  rule: string;
  kind: JobKind;
  repository: string;
  /** a tag for "tag" and "delete-tag", else a digest */
  reference: string;
  /** for "delete-tag": the digest the tag named here (a target that cannot delete tags deletes it) */
  digest: string;
  attempts: number;
  queued_at: number;
}

export interface RuleState {
  pending: number;
  failing: number;
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
  lastReconcileAt: number | null;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS jobs (
     seq        INTEGER PRIMARY KEY AUTOINCREMENT,
     rule       TEXT NOT NULL,
     kind       TEXT NOT NULL CHECK (kind IN ('tag', 'digest', 'delete-tag', 'delete-digest')),
     repository TEXT NOT NULL,
     reference  TEXT NOT NULL,
     digest     TEXT NOT NULL,
     attempts   INTEGER NOT NULL DEFAULT 0,
     next_at    INTEGER NOT NULL,             -- ms since the epoch
     queued_at  INTEGER NOT NULL,             -- a job queued again while it runs stays
     last_error TEXT,
     UNIQUE (rule, kind, repository, reference)
   )`,
  `CREATE INDEX IF NOT EXISTS jobs_due ON jobs (rule, next_at)`,
  `CREATE TABLE IF NOT EXISTS rules (
     rule              TEXT PRIMARY KEY,
     last_success_at   INTEGER,
     last_error_at     INTEGER,
     last_error        TEXT,
     last_reconcile_at INTEGER
   )`,
];

/** The opposite of a kind: a copy supersedes a pending delete of the same reference and back. */
const OPPOSITE: Record<JobKind, JobKind> = { tag: "delete-tag", "delete-tag": "tag", digest: "delete-digest", "delete-digest": "digest" };

export class ReplicationQueue {
  private constructor(
    private readonly ingest: SQL,
    private readonly sql: SQL,
  ) {}

  static async open(dir: string): Promise<ReplicationQueue> {
    const { ingest, main } = await openQueueDatabase(join(dir, "queue.db"), SCHEMA);
    return new ReplicationQueue(ingest, main);
  }

  /** Queues a job (due now); a pending job of the same reference is reset, its opposite dropped. */
  async enqueue(rule: string, kind: JobKind, repository: string, reference: string, digest: string, now = Date.now()): Promise<void> {
    await this.ingest`DELETE FROM jobs WHERE rule = ${rule} AND kind = ${OPPOSITE[kind]} AND repository = ${repository} AND reference = ${reference}`;
    await this.ingest`
      INSERT INTO jobs (rule, kind, repository, reference, digest, attempts, next_at, queued_at)
      VALUES (${rule}, ${kind}, ${repository}, ${reference}, ${digest}, 0, ${now}, ${now})
      ON CONFLICT (rule, kind, repository, reference) DO UPDATE SET digest = excluded.digest, attempts = 0, next_at = excluded.next_at, queued_at = max(excluded.queued_at, jobs.queued_at + 1)`;
  }

  /** The oldest job of the rule due by `now`. */
  async due(rule: string, now: number): Promise<Job | null> {
    const [row] = await this.sql<Job[]>`
      SELECT seq, rule, kind, repository, reference, digest, attempts, queued_at FROM jobs
      WHERE rule = ${rule} AND next_at <= ${now} ORDER BY seq LIMIT 1`;
    return row ?? null;
  }

  async nextDueAt(rule: string): Promise<number | null> {
    const [row] = await this.sql<Array<{ next: number | null }>>`SELECT min(next_at) AS next FROM jobs WHERE rule = ${rule}`;
    return row?.next ?? null;
  }

  /** Done: the row goes (unless it was queued again meanwhile: then it stays, due). */
  async done(job: Job, now: number): Promise<void> {
    await this.sql`DELETE FROM jobs WHERE seq = ${job.seq} AND queued_at = ${job.queued_at}`;
    await this.sql`INSERT INTO rules (rule, last_success_at) VALUES (${job.rule}, ${now}) ON CONFLICT (rule) DO UPDATE SET last_success_at = excluded.last_success_at`;
  }

  async failed(job: Job, error: string, retryAt: number, now: number): Promise<void> {
    await this.sql`UPDATE jobs SET attempts = attempts + 1, next_at = ${retryAt}, last_error = ${error} WHERE seq = ${job.seq} AND queued_at = ${job.queued_at}`;
    await this.sql`
      INSERT INTO rules (rule, last_error_at, last_error) VALUES (${job.rule}, ${now}, ${error})
      ON CONFLICT (rule) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error`;
  }

  async reconciled(rule: string, now: number): Promise<void> {
    await this.sql`INSERT INTO rules (rule, last_reconcile_at) VALUES (${rule}, ${now}) ON CONFLICT (rule) DO UPDATE SET last_reconcile_at = excluded.last_reconcile_at`;
  }

  async state(rule: string): Promise<RuleState> {
    const [counts] = await this.sql<Array<{ pending: number; failing: number }>>`
      SELECT count(*) AS pending, coalesce(sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS failing FROM jobs WHERE rule = ${rule}`;
    const [row] = await this.sql<Array<{ last_success_at: number | null; last_error_at: number | null; last_error: string | null; last_reconcile_at: number | null }>>`
      SELECT last_success_at, last_error_at, last_error, last_reconcile_at FROM rules WHERE rule = ${rule}`;
    return {
      pending: Number(counts?.pending ?? 0),
      failing: Number(counts?.failing ?? 0),
      lastSuccessAt: row?.last_success_at ?? null,
      lastErrorAt: row?.last_error_at ?? null,
      lastError: row?.last_error ?? null,
      lastReconcileAt: row?.last_reconcile_at ?? null,
    };
  }

  async close(): Promise<void> {
    await this.ingest.close();
    await this.sql.close();
  }
}
