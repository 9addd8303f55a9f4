/**
 * The durable delivery queue: SQLite (Bun.SQL) in the plugin's data directory, one row per
 * (event, endpoint) holding the event itself. A row moves from pending to delivered, or to
 * dead when the retry policy gives up. Nothing is dropped silently: delivered rows are pruned
 * after `keep_delivered`, dead rows after `keep_dead` (long enough to look and redeliver).
 *
 * Every operation is one statement, so no transaction is needed: Bun.SQL's SQLite adapter runs
 * all queries of an instance on one connection, and a transaction there would also take in
 * any query another caller issues while it awaits. Queries run on the calling thread when
 * awaited. Two connections: `ingest` commits new events with synchronous = FULL (on disk
 * before anything tries to send them, even across a power cut); `main` records attempts with
 * synchronous = NORMAL (WAL: survives a killed process; a status lost in a power cut only
 * means one more send), so bookkeeping does not fsync on the event loop for every delivery.
 */
import { SQL } from "bun";
import { join } from "node:path";
import type { RegistryEvent } from "../../src/hooks/types.ts";
import { openQueueDatabase } from "../../src/util/queue-database.ts";
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

/** A pending delivery handed to a worker. */
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

interface Row {
  id: string;
  endpoint: string;
  event_id: string;
  action: string;
  repository: string;
  tag: string | null;
  digest: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  last_attempt_at: number | null;
  next_attempt_at: number | null;
  delivered_at: number | null;
}

const RECORD_COLUMNS = "id, endpoint, event_id, action, repository, tag, digest, status, attempts, last_status, last_error, created_at, last_attempt_at, next_attempt_at, delivered_at";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS deliveries (
     seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- queue order
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
     created_at      INTEGER NOT NULL,                   -- ms since the epoch, like every time here
     queued_at       INTEGER NOT NULL,                   -- max_age counts from here
     next_attempt_at INTEGER,                            -- null unless pending
     last_attempt_at INTEGER,
     delivered_at    INTEGER,
     last_status     INTEGER,
     last_error      TEXT,
     UNIQUE (event_id, endpoint)
   )`,
  `CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (endpoint, seq) WHERE status = 'pending'`,
  `CREATE INDEX IF NOT EXISTS deliveries_by_endpoint ON deliveries (endpoint, seq)`,
];

export class DeliveryQueue {
  private constructor(
    private readonly ingest: SQL,
    private readonly sql: SQL,
  ) {}

  /** Opens (creating when needed) `<dir>/queue.db`. */
  static async open(dir: string): Promise<DeliveryQueue> {
    const { ingest, main } = await openQueueDatabase(join(dir, "queue.db"), SCHEMA);
    return new DeliveryQueue(ingest, main);
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
    await this.ingest`INSERT OR IGNORE INTO deliveries ${this.ingest(rows)}`;
    return rows.map((row) => row.id);
  }

  /** Pending deliveries of `endpoint` due by `now`, oldest first, skipping those in `exclude`. */
  async due(endpoint: string, now: number, limit: number, exclude: readonly string[]): Promise<DueDelivery[]> {
    const rows = await this.sql<Array<{ id: string; attempts: number; queued_at: number; body: string }>>`
      SELECT id, attempts, queued_at, body FROM deliveries
      WHERE endpoint = ${endpoint} AND status = 'pending' AND next_attempt_at <= ${now} AND id NOT IN ${this.sql([...exclude])}
      ORDER BY seq LIMIT ${limit}`;
    const due: DueDelivery[] = [];
    for (const row of rows) {
      const event = readStoredEvent(row.body);
      if (event) due.push({ id: row.id, attempts: row.attempts, queuedAt: row.queued_at, event });
      else await this.markFailed(row.id, { now, statusCode: null, error: "the stored event cannot be read" }, null);
    }
    return due;
  }

  /** When the next pending delivery (not in `exclude`) is due; null when none is pending. */
  async nextDueAt(endpoint: string, exclude: readonly string[]): Promise<number | null> {
    const [row] = await this.sql<Array<{ next: number | null }>>`
      SELECT min(next_attempt_at) AS next FROM deliveries
      WHERE endpoint = ${endpoint} AND status = 'pending' AND id NOT IN ${this.sql([...exclude])}`;
    return row?.next ?? null;
  }

  /**
   * Records a delivered attempt. With `queuedAt` (what the sender read), a redelivery requested
   * meanwhile wins: the row stays pending and goes out again.
   */
  async markDelivered(id: string, outcome: Outcome, queuedAt: number | null = null): Promise<void> {
    await this.sql`
      UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_attempt_at = ${outcome.now},
        delivered_at = ${outcome.now}, next_attempt_at = NULL, last_status = ${outcome.statusCode}, last_error = NULL
      WHERE id = ${id} AND (${queuedAt} IS NULL OR queued_at = ${queuedAt})`;
  }

  /** Records a failed attempt: retried at `retryAt`, or dead when it is null (`queuedAt` as above). */
  async markFailed(id: string, outcome: Outcome, retryAt: number | null, queuedAt: number | null = null): Promise<void> {
    const status: DeliveryStatus = retryAt === null ? "dead" : "pending";
    await this.sql`
      UPDATE deliveries SET status = ${status}, attempts = attempts + 1, last_attempt_at = ${outcome.now},
        next_attempt_at = ${retryAt}, last_status = ${outcome.statusCode}, last_error = ${outcome.error}
      WHERE id = ${id} AND (${queuedAt} IS NULL OR queued_at = ${queuedAt})`;
  }

  /** Recent deliveries, newest first. */
  async list(filter: { endpoint?: string | undefined; status?: DeliveryStatus | undefined; limit: number }): Promise<DeliveryRecord[]> {
    const endpoint = filter.endpoint ?? null;
    const status = filter.status ?? null;
    const rows = await this.sql<Row[]>`
      SELECT ${this.sql.unsafe(RECORD_COLUMNS)} FROM deliveries
      WHERE (${endpoint} IS NULL OR endpoint = ${endpoint}) AND (${status} IS NULL OR status = ${status})
      ORDER BY seq DESC LIMIT ${filter.limit}`;
    return rows.map(toRecord);
  }

  /** Delivery counts of an endpoint by status. */
  async counts(endpoint: string): Promise<Record<DeliveryStatus, number>> {
    const rows = await this.sql<Array<{ status: DeliveryStatus; n: number }>>`
      SELECT status, count(*) AS n FROM deliveries WHERE endpoint = ${endpoint} GROUP BY status`;
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** One delivery with the event it carries; null when unknown. */
  async get(id: string): Promise<{ delivery: DeliveryRecord; event: RegistryEvent | null } | null> {
    const [row] = await this.sql<Array<Row & { body: string }>>`
      SELECT ${this.sql.unsafe(RECORD_COLUMNS)}, body FROM deliveries WHERE id = ${id}`;
    return row ? { delivery: toRecord(row), event: readStoredEvent(row.body) } : null;
  }

  /**
   * Puts a delivery (pending, delivered or dead) back in the queue, due now, with a fresh
   * attempt count and age; the last error stays until the next attempt.
   * @returns its endpoint, or null when there is no such delivery
   */
  async requeue(id: string, now = Date.now()): Promise<string | null> {
    const [row] = await this.sql<Array<{ endpoint: string }>>`
      UPDATE deliveries SET status = 'pending', attempts = 0, queued_at = max(${now}, queued_at + 1), next_attempt_at = ${now},
        delivered_at = NULL
      WHERE id = ${id} RETURNING endpoint`;
    return row?.endpoint ?? null;
  }

  /** Removes deliveries delivered before `deliveredCutoff`, and dead ones queued before `deadCutoff`. @returns how many */
  async prune(deliveredCutoff: number, deadCutoff: number): Promise<number> {
    const delivered = await this.sql`DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at < ${deliveredCutoff}`;
    const dead = await this.sql`DELETE FROM deliveries WHERE status = 'dead' AND queued_at < ${deadCutoff}`;
    return delivered.count + dead.count;
  }

  async close(): Promise<void> {
    await this.ingest.close();
    await this.sql.close();
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function toRecord(row: Row): DeliveryRecord {
  return {
    id: row.id,
    endpoint: row.endpoint,
    eventId: row.event_id,
    action: row.action,
    repository: row.repository,
    tag: row.tag,
    digest: row.digest,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status,
    lastError: row.last_error,
    createdAt: new Date(row.created_at).toISOString(),
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: iso(row.next_attempt_at),
    deliveredAt: iso(row.delivered_at),
  };
}
