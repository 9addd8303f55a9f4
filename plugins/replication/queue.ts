/**
 * The replication queue: one row per thing to do on a target (copy a tag, copy a manifest by
 * digest, delete a tag or a manifest), and each rule's last success and last error. Rows are
 * committed durably before the client's push is answered, and removed only once done: a
 * restart, even after kill -9, picks them up.
 *
 * Where it lives (src/util/claimed-queue.ts): SQLite in the plugin's data directory when Berth
 * runs alone (tables `jobs`, `rules`); the shared PostgreSQL database when it runs as replicas
 * (`replication_jobs`, `replication_rules`), drained by every replica's workers: a worker
 * claims a job before running it (renewing the claim while it runs) and records the outcome
 * only while the claim is its own. Like the webhook queue, every operation is one statement.
 */
import type { SqliteAdoption } from "../../src/util/adopt-sqlite.ts";
import { CLAIM_COLUMNS, ClaimedQueue, type QueueDialect, type QueueHome, seqColumn } from "../../src/util/claimed-queue.ts";
import { num, optNum, optStr, type Row, str } from "../../src/util/rows.ts";

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

/** SQLite keeps the table names of the files it made before replicas existed. */
const TABLES: Record<QueueDialect, { jobs: string; rules: string }> = {
  sqlite: { jobs: "jobs", rules: "rules" },
  postgres: { jobs: "replication_jobs", rules: "replication_rules" },
};

function schema(dialect: QueueDialect): string[] {
  const { jobs, rules } = TABLES[dialect];
  return [
    `CREATE TABLE IF NOT EXISTS ${jobs} (
       seq        ${seqColumn(dialect)},
       rule       TEXT NOT NULL,
       kind       TEXT NOT NULL CHECK (kind IN ('tag', 'digest', 'delete-tag', 'delete-digest')),
       repository TEXT NOT NULL,
       reference  TEXT NOT NULL,
       digest     TEXT NOT NULL,
       attempts   INTEGER NOT NULL DEFAULT 0,
       next_at    BIGINT NOT NULL,              -- ms since the epoch
       queued_at  BIGINT NOT NULL,              -- a job queued again while it runs stays
       last_error TEXT,
       ${CLAIM_COLUMNS},
       UNIQUE (rule, kind, repository, reference)
     )`,
    `CREATE INDEX IF NOT EXISTS ${jobs}_due ON ${jobs} (rule, next_at)`,
    `CREATE TABLE IF NOT EXISTS ${rules} (
       rule              TEXT PRIMARY KEY,
       last_success_at   BIGINT,
       last_error_at     BIGINT,
       last_error        TEXT,
       last_reconcile_at BIGINT
     )`,
  ];
}

const KINDS: readonly JobKind[] = ["tag", "digest", "delete-tag", "delete-digest"];

/** The opposite of a kind: a copy supersedes a pending delete of the same reference and back. */
const OPPOSITE: Record<JobKind, JobKind> = { tag: "delete-tag", "delete-tag": "tag", digest: "delete-digest", "delete-digest": "digest" };

export class ReplicationQueue {
  private readonly jobs: string;
  private readonly rules: string;

  private constructor(private readonly store: ClaimedQueue) {
    ({ jobs: this.jobs, rules: this.rules } = TABLES[store.dialect]);
  }

  /**
   * Opens `<dir>/queue.db`, or the shared database's tables when `home.database` is set; a
   * `<dir>/queue.db` a single Berth left is then adopted (its jobs and rules' states).
   */
  static async open(dir: string, home: QueueHome = { replica: "local", database: null }, log: SqliteAdoption["log"] = () => {}): Promise<ReplicationQueue> {
    const { sqlite, postgres } = TABLES;
    const tables = [{ from: sqlite.jobs, to: postgres.jobs, order: ["seq"] }, { from: sqlite.rules, to: postgres.rules }];
    const store = await ClaimedQueue.open({ home, dataDir: dir, name: "replication", schema, claimedTables: [sqlite.jobs], adopt: { tables, log } });
    return new ReplicationQueue(store);
  }

  /** Queues a job (due now); a pending job of the same reference is reset, its opposite dropped. */
  async enqueue(rule: string, kind: JobKind, repository: string, reference: string, digest: string, now = Date.now()): Promise<void> {
    const sql = this.store.ingest;
    const jobs = sql(this.jobs);
    await sql`DELETE FROM ${jobs} WHERE rule = ${rule} AND kind = ${OPPOSITE[kind]} AND repository = ${repository} AND reference = ${reference}`;
    // a job running meanwhile keeps its claim; its outcome is not recorded (queued_at moved) and it runs again
    await sql`
      INSERT INTO ${jobs} (rule, kind, repository, reference, digest, attempts, next_at, queued_at)
      VALUES (${rule}, ${kind}, ${repository}, ${reference}, ${digest}, 0, ${now}, ${now})
      ON CONFLICT (rule, kind, repository, reference) DO UPDATE SET digest = excluded.digest, attempts = 0, next_at = excluded.next_at,
        queued_at = CASE WHEN excluded.queued_at > ${jobs}.queued_at THEN excluded.queued_at ELSE ${jobs}.queued_at + 1 END`;
  }

  /** Claims the oldest job of the rule due by `now` that no worker holds, for `leaseMs` (renew it with `whileClaimed`). */
  async due(rule: string, now: number, leaseMs: number): Promise<Job | null> {
    const sql = this.store.sql;
    const [row] = await this.store.claim(this.jobs, sql`rule = ${rule} AND next_at <= ${now}`, {
      limit: 1,
      leaseMs,
      columns: "rule, kind, repository, reference, digest, attempts, queued_at",
      now,
    });
    return row ? toJob(row) : null;
  }

  /** Runs `work` while keeping the job claimed (a copy may outlast any fixed lease). */
  whileClaimed<T>(job: Job, leaseMs: number, work: () => Promise<T>): Promise<T> {
    return this.store.keepClaimed(this.jobs, job.seq, leaseMs, work);
  }

  /** When the next job may be claimed (a hint for the worker's sleep); null when there is none. */
  async nextDueAt(rule: string): Promise<number | null> {
    const sql = this.store.sql;
    const [row] = await sql<Row[]>`
      SELECT min(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_at THEN claimed_until ELSE next_at END) AS next
      FROM ${sql(this.jobs)} WHERE rule = ${rule}`;
    return row ? optNum(row, "next") : null;
  }

  /** Done: the row goes (unless it was queued again meanwhile, or another worker took it over: then it stays). */
  async done(job: Job, now: number): Promise<void> {
    const sql = this.store.sql;
    const removed = await sql`DELETE FROM ${sql(this.jobs)} WHERE seq = ${job.seq} AND queued_at = ${job.queued_at} AND ${this.store.held()}`;
    if (removed.count === 0) await this.release(job);
    await sql`INSERT INTO ${sql(this.rules)} (rule, last_success_at) VALUES (${job.rule}, ${now}) ON CONFLICT (rule) DO UPDATE SET last_success_at = excluded.last_success_at`;
  }

  async failed(job: Job, error: string, retryAt: number, now: number): Promise<void> {
    const sql = this.store.sql;
    const recorded = await sql`
      UPDATE ${sql(this.jobs)} SET attempts = attempts + 1, next_at = ${retryAt}, last_error = ${error}, claimed_by = NULL, claimed_until = NULL
      WHERE seq = ${job.seq} AND queued_at = ${job.queued_at} AND ${this.store.held()}`;
    if (recorded.count === 0) await this.release(job);
    await sql`
      INSERT INTO ${sql(this.rules)} (rule, last_error_at, last_error) VALUES (${job.rule}, ${now}, ${error})
      ON CONFLICT (rule) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error`;
  }

  /** Gives up this replica's claim of the job without an outcome: due again at once. */
  async release(job: Job): Promise<void> {
    await this.store.release(this.jobs, this.store.sql`seq = ${job.seq}`);
  }

  async reconciled(rule: string, now: number): Promise<void> {
    const sql = this.store.sql;
    await sql`INSERT INTO ${sql(this.rules)} (rule, last_reconcile_at) VALUES (${rule}, ${now}) ON CONFLICT (rule) DO UPDATE SET last_reconcile_at = excluded.last_reconcile_at`;
  }

  async state(rule: string): Promise<RuleState> {
    const sql = this.store.sql;
    const [counts] = await sql<Row[]>`
      SELECT count(*) AS pending, coalesce(sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS failing FROM ${sql(this.jobs)} WHERE rule = ${rule}`;
    const [row] = await sql<Row[]>`SELECT last_success_at, last_error_at, last_error, last_reconcile_at FROM ${sql(this.rules)} WHERE rule = ${rule}`;
    return {
      pending: counts ? num(counts, "pending") : 0,
      failing: counts ? num(counts, "failing") : 0,
      lastSuccessAt: row ? optNum(row, "last_success_at") : null,
      lastErrorAt: row ? optNum(row, "last_error_at") : null,
      lastError: row ? optStr(row, "last_error") : null,
      lastReconcileAt: row ? optNum(row, "last_reconcile_at") : null,
    };
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

function toJob(row: Row): Job {
  const kind = KINDS.find((known) => known === row.kind);
  if (kind === undefined) throw new Error(`replication queue: unknown job kind ${String(row.kind)}`);
  return {
    seq: num(row, "seq"),
    rule: str(row, "rule"),
    kind,
    repository: str(row, "repository"),
    reference: str(row, "reference"),
    digest: str(row, "digest"),
    attempts: num(row, "attempts"),
    queued_at: num(row, "queued_at"),
  };
}
