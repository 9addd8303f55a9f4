/**
 * The durable delivery queue, one row per (event, endpoint) holding the event itself. A row
 * moves from pending to delivered, or to dead when the retry policy gives up. Nothing is
 * dropped silently: delivered rows are pruned after `keep_delivered`, dead rows after
 * `keep_dead` (long enough to look and redeliver).
 *
 * Where it lives (src/util/claimed-queue.ts): SQLite in the plugin's data directory when Berth
 * runs alone; the shared PostgreSQL database (table `webhook_deliveries`) when it runs as
 * replicas, so every replica's workers drain one queue and the admin API shows the same rows
 * from any replica. A worker claims due rows before sending them and records an outcome only
 * while its claim holds: a delivery is sent by one replica at a time.
 *
 * Every operation is one statement, so no transaction is needed: Bun.SQL's SQLite adapter runs
 * all queries of an instance on one connection, and a transaction there would also take in
 * any query another caller issues while it awaits. With SQLite, `ingest` commits new events
 * with synchronous = FULL (on disk before anything tries to send them, even across a power
 * cut); the bookkeeping connection uses synchronous = NORMAL (WAL: survives a killed process; a
 * status lost in a power cut only means one more send). On PostgreSQL each is a durable commit.
 */
import type { RegistryEvent } from "../../src/hooks/types.ts";
import type { SqliteAdoption } from "../../src/util/adopt-sqlite.ts";
import { CLAIM_COLUMNS, ClaimedQueue, type QueueDialect, type QueueHome, seqColumn } from "../../src/util/claimed-queue.ts";
import { num, optNum, optStr, type Row, str } from "../../src/util/rows.ts";
import { readStoredEvent } from "./stored-event.ts";

export type DeliveryStatus = "pending" | "delivered" | "dead";

/** A delivery as the admin API shows it. */
export interface DeliveryRecord {
  id: string;
  endpoint: string;
  eventId: string;
  action: string;
  repository: string;
  tag: string | null;
  digest: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

/** A pending delivery handed to a worker, claimed by this replica. */
export interface DueDelivery {
  id: string;
  attempts: number;
  /** when it was queued (or requeued by redeliver); max_age counts from here */
  queuedAt: number;
  event: RegistryEvent;
}

export interface Outcome {
  now: number;
  statusCode: number | null;
  error: string | null;
}

const RECORD_COLUMNS = "id, endpoint, event_id, action, repository, tag, digest, status, attempts, last_status, last_error, created_at, last_attempt_at, next_attempt_at, delivered_at";

/** SQLite keeps the table name of the files it made before replicas existed. */
const TABLE: Record<QueueDialect, string> = { sqlite: "deliveries", postgres: "webhook_deliveries" };

function schema(dialect: QueueDialect): string[] {
  const table = TABLE[dialect];
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
       seq             ${seqColumn(dialect)},            -- queue order
       id              TEXT NOT NULL UNIQUE,               -- X-Berth-Delivery
       event_id        TEXT NOT NULL,                      -- X-Berth-Event-Id
       endpoint        TEXT NOT NULL,
       action          TEXT NOT NULL,
       repository      TEXT NOT NULL,
       tag             TEXT,
       digest          TEXT NOT NULL,
       body            TEXT NOT NULL,                      -- the event as JSON; formatted when sent
       status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
       attempts        INTEGER NOT NULL DEFAULT 0,
       created_at      BIGINT NOT NULL,                    -- ms since the epoch, like every time here
       queued_at       BIGINT NOT NULL,                    -- max_age counts from here
       next_attempt_at BIGINT,                             -- null unless pending
       last_attempt_at BIGINT,
       delivered_at    BIGINT,
       last_status     INTEGER,
       last_error      TEXT,
       ${CLAIM_COLUMNS},
       UNIQUE (event_id, endpoint)
     )`,
    `CREATE INDEX IF NOT EXISTS ${table}_pending ON ${table} (endpoint, seq) WHERE status = 'pending'`,
    `CREATE INDEX IF NOT EXISTS ${table}_by_endpoint ON ${table} (endpoint, seq)`,
  ];
}

export class DeliveryQueue {
  private readonly table: string;

  private constructor(private readonly store: ClaimedQueue) {
    this.table = TABLE[store.dialect];
  }

  /**
   * Opens (creating when needed) the queue: `<dir>/queue.db`, or the shared database's
   * `webhook_deliveries` when `home.database` is set; a `<dir>/queue.db` a single Berth left is
   * then adopted (every delivery, with its id: X-Berth-Delivery stays the same).
   */
  static async open(dir: string, home: QueueHome = { replica: "local", database: null }, log: SqliteAdoption["log"] = () => {}): Promise<DeliveryQueue> {
    const adopt = { tables: [{ from: TABLE.sqlite, to: TABLE.postgres, order: ["seq"] }], log };
    const store = await ClaimedQueue.open({ home, dataDir: dir, name: "webhook", schema, claimedTables: [TABLE.sqlite], adopt });
    return new DeliveryQueue(store);
  }

  /** Stores one pending delivery of the event per endpoint, in one statement; returns their ids. */
  async enqueue(event: RegistryEvent, endpoints: readonly string[], now = Date.now()): Promise<string[]> {
    if (endpoints.length === 0) return [];
    const body = JSON.stringify(event);
    const rows = endpoints.map((endpoint) => ({
      id: crypto.randomUUID(),
      event_id: event.id,
      endpoint,
      action: event.action,
      repository: event.target.repository,
      tag: event.target.tag ?? null,
      digest: event.target.digest,
      body,
      status: "pending",
      attempts: 0,
      created_at: now,
      queued_at: now,
      next_attempt_at: now,
    }));
    const sql = this.store.ingest;
    await sql`INSERT INTO ${sql(this.table)} ${sql(rows)} ON CONFLICT DO NOTHING`;
    return rows.map((row) => row.id);
  }

  /**
   * Claims pending deliveries of `endpoint` due by `now` that no other worker holds, oldest
   * first, for `leaseMs` (longer than a send takes: until then no other worker sends them).
   */
  async due(endpoint: string, now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    const sql = this.store.sql;
    const rows = await this.store.claim(this.table, sql`endpoint = ${endpoint} AND status = 'pending' AND next_attempt_at <= ${now}`, {
      limit,
      leaseMs,
      columns: "id, attempts, queued_at, body",
      now,
    });
    const due: DueDelivery[] = [];
    for (const row of rows) {
      const [id, queuedAt] = [str(row, "id"), num(row, "queued_at")];
      const event = readStoredEvent(str(row, "body"));
      if (event) due.push({ id, attempts: num(row, "attempts"), queuedAt, event });
      else await this.markFailed(id, { now, statusCode: null, error: "the stored event cannot be read" }, null, queuedAt);
    }
    return due;
  }

  /** When the next pending delivery may be claimed (a hint for the worker's sleep); null when none is pending. */
  async nextDueAt(endpoint: string): Promise<number | null> {
    const sql = this.store.sql;
    const [row] = await sql<Row[]>`
      SELECT min(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) AS next
      FROM ${sql(this.table)} WHERE endpoint = ${endpoint} AND status = 'pending'`;
    return row ? optNum(row, "next") : null;
  }

  /**
   * Records a delivered attempt, if this replica still holds the claim and no redelivery was
   * requested meanwhile (`queuedAt` is what the sender read): else the row stays as the other
   * party left it (pending, to go out again) and only the claim is given up.
   */
  async markDelivered(id: string, outcome: Outcome, queuedAt: number): Promise<void> {
    const sql = this.store.sql;
    const recorded = await sql`
      UPDATE ${sql(this.table)} SET status = 'delivered', attempts = attempts + 1, last_attempt_at = ${outcome.now},
        delivered_at = ${outcome.now}, next_attempt_at = NULL, last_status = ${outcome.statusCode}, last_error = NULL,
        claimed_by = NULL, claimed_until = NULL
      WHERE id = ${id} AND queued_at = ${queuedAt} AND ${this.store.held()}`;
    if (recorded.count === 0) await this.release(id);
  }

  /** Records a failed attempt: retried at `retryAt`, or dead when it is null (claim and `queuedAt` as above). */
  async markFailed(id: string, outcome: Outcome, retryAt: number | null, queuedAt: number): Promise<void> {
    const status: DeliveryStatus = retryAt === null ? "dead" : "pending";
    const sql = this.store.sql;
    const recorded = await sql`
      UPDATE ${sql(this.table)} SET status = ${status}, attempts = attempts + 1, last_attempt_at = ${outcome.now},
        next_attempt_at = ${retryAt}, last_status = ${outcome.statusCode}, last_error = ${outcome.error},
        claimed_by = NULL, claimed_until = NULL
      WHERE id = ${id} AND queued_at = ${queuedAt} AND ${this.store.held()}`;
    if (recorded.count === 0) await this.release(id);
  }

  /** Gives up this replica's claim without an outcome (the send was aborted): due again at once. */
  async release(id: string): Promise<void> {
    await this.store.release(this.table, this.store.sql`id = ${id}`);
  }

  /** Recent deliveries, newest first. */
  async list(filter: { endpoint?: string | undefined; status?: DeliveryStatus | undefined; limit: number }): Promise<DeliveryRecord[]> {
    const sql = this.store.sql;
    const any = sql.unsafe("1 = 1");
    const byEndpoint = filter.endpoint === undefined ? any : sql`endpoint = ${filter.endpoint}`;
    const byStatus = filter.status === undefined ? any : sql`status = ${filter.status}`;
    const rows = await sql<Row[]>`
      SELECT ${sql.unsafe(RECORD_COLUMNS)} FROM ${sql(this.table)}
      WHERE ${byEndpoint} AND ${byStatus} ORDER BY seq DESC LIMIT ${filter.limit}`;
    return rows.map(toRecord);
  }

  /** Delivery counts of an endpoint by status. */
  async counts(endpoint: string): Promise<Record<DeliveryStatus, number>> {
    const sql = this.store.sql;
    const rows = await sql<Row[]>`SELECT status, count(*) AS n FROM ${sql(this.table)} WHERE endpoint = ${endpoint} GROUP BY status`;
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of rows) counts[statusOf(row)] = num(row, "n");
    return counts;
  }

  /** One delivery with the event it carries; null when unknown. */
  async get(id: string): Promise<{ delivery: DeliveryRecord; event: RegistryEvent | null } | null> {
    const sql = this.store.sql;
    const [row] = await sql<Row[]>`SELECT ${sql.unsafe(RECORD_COLUMNS)}, body FROM ${sql(this.table)} WHERE id = ${id}`;
    return row ? { delivery: toRecord(row), event: readStoredEvent(str(row, "body")) } : null;
  }

  /**
   * Puts a delivery (pending, delivered or dead) back in the queue, due now, with a fresh
   * attempt count and age; the last error stays until the next attempt. A worker sending it
   * meanwhile keeps its claim until it finishes, then finds the new `queued_at` and lets go.
   * @returns its endpoint, or null when there is no such delivery
   */
  async requeue(id: string, now = Date.now()): Promise<string | null> {
    const sql = this.store.sql;
    const [row] = await sql<Row[]>`
      UPDATE ${sql(this.table)} SET status = 'pending', attempts = 0, next_attempt_at = ${now}, delivered_at = NULL,
        queued_at = CASE WHEN queued_at < ${now} THEN ${now} ELSE queued_at + 1 END
      WHERE id = ${id} RETURNING endpoint`;
    return row ? str(row, "endpoint") : null;
  }

  /** Removes deliveries delivered before `deliveredCutoff`, and dead ones queued before `deadCutoff`. @returns how many */
  async prune(deliveredCutoff: number, deadCutoff: number): Promise<number> {
    const sql = this.store.sql;
    const delivered = await sql`DELETE FROM ${sql(this.table)} WHERE status = 'delivered' AND delivered_at < ${deliveredCutoff}`;
    const dead = await sql`DELETE FROM ${sql(this.table)} WHERE status = 'dead' AND queued_at < ${deadCutoff}`;
    return delivered.count + dead.count;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

const STATUSES: readonly DeliveryStatus[] = ["pending", "delivered", "dead"];

function statusOf(row: Row): DeliveryStatus {
  const status = STATUSES.find((known) => known === row.status);
  if (status === undefined) throw new Error(`webhook queue: unknown status ${String(row.status)}`);
  return status;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function toRecord(row: Row): DeliveryRecord {
  return {
    id: str(row, "id"),
    endpoint: str(row, "endpoint"),
    eventId: str(row, "event_id"),
    action: str(row, "action"),
    repository: str(row, "repository"),
    tag: optStr(row, "tag"),
    digest: str(row, "digest"),
    status: statusOf(row),
    attempts: num(row, "attempts"),
    lastStatusCode: optNum(row, "last_status"),
    lastError: optStr(row, "last_error"),
    createdAt: new Date(num(row, "created_at")).toISOString(),
    lastAttemptAt: iso(optNum(row, "last_attempt_at")),
    nextAttemptAt: iso(optNum(row, "next_attempt_at")),
    deliveredAt: iso(optNum(row, "delivered_at")),
  };
}
