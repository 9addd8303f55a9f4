/**
 * The storage of a plugin's durable work queue (webhook deliveries, replication jobs), drained
 * by one process or by several replicas together:
 *
 * - alone (no shared database): SQLite in the plugin's data directory (queue-database.ts);
 * - as a replica: the PostgreSQL database every replica shares, in tables named after the plugin.
 *
 * The same statements run on both. A row is sent by one worker at a time because a worker
 * first claims it: one UPDATE marks due rows `claimed_by` this replica until `claimed_until`
 * (PostgreSQL picks them with `FOR UPDATE SKIP LOCKED`, so replicas claiming at the same moment
 * get disjoint rows without waiting for each other). The work (an HTTP request) runs outside
 * any transaction; its outcome is recorded only while the claim is still this replica's
 * (`held()`). A claim that runs out (its replica died, or hung past the lease) is taken by the
 * next worker that looks: work is done at least once, never lost, and done twice only when
 * the first worker did it and could not record it.
 *
 * Claims are measured with PostgreSQL's clock (replicas' clocks may differ), or this
 * process's clock when it is alone.
 */
import type { SQL } from "bun";
import { join } from "node:path";
import { adoptSqliteFile, type SqliteAdoption, type TablePair } from "./adopt-sqlite.ts";
import { openQueueDatabase } from "./queue-database.ts";
import { num, type Row, rowsOf, str } from "./rows.ts";
import { createSharedTables } from "./shared-schema.ts";

export type QueueDialect = "sqlite" | "postgres";

/** A piece of a statement (`sql\`...\``), placed in another statement. */
export type Fragment = SQL.Query<unknown>;

/** Where a queue lives: a plugin's `ctx.cluster` (`database` null when Berth runs alone). */
export interface QueueHome {
  replica: string;
  database: SQL | null;
}

export interface ClaimedQueueOptions {
  home: QueueHome;
  /** the SQLite file's directory when `home.database` is null */
  dataDir: string;
  /** the queue's name (its schema is created by one replica at a time under it) */
  name: string;
  /** the tables and indexes, in the dialect (`seqColumn` gives the queue-order column) */
  schema(dialect: QueueDialect): readonly string[];
  /** tables whose rows are claimed; SQLite files made before claims existed get the columns */
  claimedTables: readonly string[];
  /**
   * on the shared database: the tables of the SQLite file a single Berth left in `dataDir`,
   * taken in once (src/util/adopt-sqlite.ts); queue order kept, `seq` renumbered, claims cleared
   */
  adopt?: { tables: readonly TablePair[]; log: SqliteAdoption["log"] };
}

const QUEUE_FILE = "queue.db";
const SERVER_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/** The queue-order key: increasing, never reused (a deleted row's number is not given again). */
export function seqColumn(dialect: QueueDialect): string {
  return dialect === "postgres" ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
}

/**
 * The claim's columns, for a claimed table's CREATE TABLE: the replica working on the row, and
 * until when (ms since the epoch; after it, any worker may claim the row again).
 */
export const CLAIM_COLUMNS = "claimed_by TEXT, claimed_until BIGINT";

export class ClaimedQueue {
  private constructor(
    readonly dialect: QueueDialect,
    readonly replica: string,
    /** records arriving items, durably before the client is answered */
    readonly ingest: SQL,
    /** the workers' bookkeeping and the admin API's reads */
    readonly sql: SQL,
    /** false when the connection is the shared database's, which the queue must not close */
    private readonly owned: boolean,
  ) {}

  static async open(options: ClaimedQueueOptions): Promise<ClaimedQueue> {
    const { database, replica } = options.home;
    if (database) {
      await createSharedTables(database, `queue ${options.name}`, options.schema("postgres"));
      if (options.adopt) {
        const tables = options.adopt.tables.map((pair) => ({ ...pair, omit: [...(pair.omit ?? []), "seq", "claimed_by", "claimed_until"] }));
        await adoptSqliteFile(database, { owner: options.name, file: join(options.dataDir, QUEUE_FILE), tables, log: options.adopt.log });
      }
      return new ClaimedQueue("postgres", replica, database, database, false);
    }
    const { ingest, main } = await openQueueDatabase(join(options.dataDir, QUEUE_FILE), options.schema("sqlite"));
    for (const table of options.claimedTables) {
      const columns = rowsOf(await main.unsafe(`PRAGMA table_info(${table})`)).map((row) => str(row, "name"));
      if (!columns.includes("claimed_by")) await main.unsafe(`ALTER TABLE ${table} ADD COLUMN claimed_by TEXT`);
      if (!columns.includes("claimed_until")) await main.unsafe(`ALTER TABLE ${table} ADD COLUMN claimed_until INTEGER`);
      // one process owns this file (the storage root's lock): a killed one's claims are void now
      await main`UPDATE ${main(table)} SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL`;
    }
    return new ClaimedQueue("sqlite", replica, ingest, main, true);
  }

  /** The clock claims are measured with: PostgreSQL's, or `now` (this process's) when alone. */
  clock(now: number): Fragment {
    return this.sql.unsafe(this.dialect === "postgres" ? SERVER_NOW_MS : String(Math.trunc(now)));
  }

  /** "This replica still holds the row's claim": the condition of a statement recording an outcome. */
  held(): Fragment {
    return this.sql`claimed_by = ${this.replica}`;
  }

  /**
   * Claims up to `limit` rows of `table` that `due` selects and no live claim holds, lowest
   * `seq` first, for `leaseMs`. @returns `seq` and `columns` of the rows claimed, in seq order
   */
  async claim(table: string, due: Fragment, options: { limit: number; leaseMs: number; columns: string; now: number }): Promise<Row[]> {
    const sql = this.sql;
    const clock = this.clock(options.now);
    const skipLocked = sql.unsafe(this.dialect === "postgres" ? "FOR UPDATE SKIP LOCKED" : "");
    const rows = rowsOf(await sql`
      UPDATE ${sql(table)} SET claimed_by = ${this.replica}, claimed_until = ${clock} + ${options.leaseMs}
      WHERE seq IN (
        SELECT seq FROM ${sql(table)}
        WHERE ${due} AND (claimed_until IS NULL OR claimed_until <= ${clock})
        ORDER BY seq LIMIT ${options.limit} ${skipLocked})
      RETURNING seq, ${sql.unsafe(options.columns)}`);
    return rows.sort((a, b) => num(a, "seq") - num(b, "seq"));
  }

  /** Gives up this replica's claim of the rows `where` selects: they are due again at once. */
  async release(table: string, where: Fragment): Promise<void> {
    await this.sql`UPDATE ${this.sql(table)} SET claimed_by = NULL, claimed_until = NULL WHERE ${where} AND claimed_by = ${this.replica}`;
  }

  /** Extends this replica's claim of row `seq` by `leaseMs` from now. @returns false when it is not ours any more */
  async renew(table: string, seq: number, leaseMs: number, now = Date.now()): Promise<boolean> {
    const rows = await this.sql`
      UPDATE ${this.sql(table)} SET claimed_until = ${this.clock(now)} + ${leaseMs}
      WHERE seq = ${seq} AND claimed_by = ${this.replica} RETURNING seq`;
    return rowsOf(rows).length > 0;
  }

  /**
   * Runs `work` while renewing the claim of row `seq` every third of `leaseMs`, for work with
   * no bound on its length (a copy of a large image): the claim outlives the work, and runs out
   * soon after its replica dies.
   */
  async keepClaimed<T>(table: string, seq: number, leaseMs: number, work: () => Promise<T>): Promise<T> {
    const renewal = setInterval(() => void this.renew(table, seq, leaseMs).catch(() => undefined), Math.max(1, Math.floor(leaseMs / 3)));
    try {
      return await work();
    } finally {
      clearInterval(renewal);
    }
  }

  async close(): Promise<void> {
    if (!this.owned) return; // the shared database belongs to the registry
    await this.ingest.close();
    await this.sql.close();
  }
}
