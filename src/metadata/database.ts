/**
 * The metadata index's database through Bun.SQL: SQLite embedded (a file under
 * <storage.root>/berth/, or memory for the in-memory driver) or PostgreSQL when `metadata.url`
 * names one. The same statements run on both (schema.ts).
 *
 * SQLite has one writer: write transactions are serialised here, so two requests never try to
 * open one on the same connection. It commits without an fsync (WAL, synchronous = NORMAL: an
 * fsync there would stop the event loop); a durable write then waits for the file system's
 * sync barrier, one syncfs shared with concurrent writes and with the storage tree when both
 * are on one disk (storage/sync-barrier.ts). A write that a journal entry or the tree already
 * covers may skip that wait (`durable: false`). PostgreSQL runs transactions concurrently and
 * may end one to break a deadlock: that one is run again.
 */
import { SQL } from "bun";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { KeyedLock } from "../registry/keyed-lock.ts";
import { PRIVATE_DIRECTORY_MODE } from "../storage/modes.ts";
import { type SyncBarrier, syncBarrierFor } from "../storage/sync-barrier.ts";
import { SCHEMA, SCHEMA_VERSION } from "./schema.ts";
import { createSharedTables } from "../util/shared-schema.ts";

export type DatabaseKind = "sqlite" | "postgres";

export interface DatabaseLocation {
  /** metadata.url: "" for SQLite */
  url: string;
  /** the storage root: SQLite lives at <root>/berth/metadata.db */
  root: string;
  /** keep SQLite in memory (the in-memory storage driver) */
  inMemory: boolean;
}

/** Where SQLite keeps the index of a storage root. */
export function sqlitePath(root: string): string {
  return join(root, "berth", "metadata.db");
}

export interface WriteOptions {
  /**
   * false: `write` resolves before the commit is on disk (PostgreSQL: synchronous_commit = off;
   * SQLite: without waiting for the sync barrier). A power cut may then lose this commit and
   * later ones, never an earlier one or a part of one: both write their log in commit order,
   * and the next durable commit puts everything before it on disk. A killed process loses
   * nothing (the log is in the page cache). Default true.
   */
  durable?: boolean;
}

/** PostgreSQL: other processes (replicas) may share it. */
export function isSharedDatabase(location: Pick<DatabaseLocation, "url">): boolean {
  return /^postgres(ql)?:/.test(location.url);
}

export class MetadataDatabase {
  private readonly writes = new KeyedLock();

  private constructor(
    readonly sql: SQL,
    readonly kind: DatabaseKind,
    /** the barrier of the SQLite file's file system; null in memory and on PostgreSQL */
    private readonly barrier: SyncBarrier | null,
  ) {}

  /** @throws Error naming metadata.url when the database cannot be opened */
  static async open(location: DatabaseLocation): Promise<MetadataDatabase> {
    const file = sqliteFile(location);
    const database = isSharedDatabase(location)
      ? new MetadataDatabase(await openPostgres(location.url), "postgres", null)
      : new MetadataDatabase(await openSqlite(file), "sqlite", file === ":memory:" ? null : syncBarrierFor(dirname(file)));
    if (database.kind === "postgres") await createSharedTables(database.sql, "metadata", SCHEMA);
    else for (const statement of SCHEMA) await database.sql.unsafe(statement);
    await database.sql`INSERT INTO meta (key, value) VALUES ('schema', ${SCHEMA_VERSION}) ON CONFLICT (key) DO NOTHING`;
    return database;
  }

  /**
   * Runs `body` in one transaction (serialised on SQLite; again when PostgreSQL ends it to break
   * a deadlock); durable when it resolves unless told otherwise.
   */
  async write<T>(body: (tx: SQL) => Promise<T>, { durable = true }: WriteOptions = {}): Promise<T> {
    if (this.kind === "postgres") {
      if (durable) return runAgainOnConflict(() => this.sql.begin(body));
      return runAgainOnConflict(() =>
        this.sql.begin(async (tx) => {
          await tx`SET LOCAL synchronous_commit TO OFF`;
          return body(tx);
        }),
      );
    }
    const result = await this.writes.run("", () => this.sql.begin(body));
    if (durable) await this.persist();
    return result;
  }

  /**
   * Puts every commit made so far on disk: SQLite's log through its file system's sync barrier
   * (PostgreSQL's durable commits are on disk when they resolve; its relaxed ones are covered
   * by a journal entry, index.ts).
   */
  async persist(): Promise<void> {
    await this.barrier?.sync();
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

/** SQLSTATEs after which PostgreSQL asks for the transaction to be run again: deadlock detected, serialization failure. */
const RUN_AGAIN = new Set(["40P01", "40001"]);
const MAX_RUNS = 5;

async function runAgainOnConflict<T>(transaction: () => Promise<T>): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await transaction();
    } catch (error) {
      const state = error instanceof Error && "errno" in error ? String(error.errno) : "";
      if (run >= MAX_RUNS || !RUN_AGAIN.has(state)) throw error;
      await Bun.sleep(Math.random() * 20 * run); // apart, so the same two do not meet again at once
    }
  }
}

/** "" (beside the storage, or memory), or "sqlite:/absolute/path.db" (e.g. on a faster disk) */
function sqliteFile(location: DatabaseLocation): string {
  if (location.url.startsWith("sqlite:")) return location.url.slice("sqlite:".length);
  return location.inMemory ? ":memory:" : sqlitePath(location.root);
}

async function openSqlite(filename: string): Promise<SQL> {
  if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const sql = new SQL({ adapter: "sqlite", filename, create: true, readwrite: true });
  await sql`PRAGMA journal_mode = WAL`;
  await sql`PRAGMA synchronous = NORMAL`; // durable commits wait for the sync barrier instead (see the file comment)
  await sql`PRAGMA busy_timeout = 5000`;
  return sql;
}

async function openPostgres(url: string): Promise<SQL> {
  let sql: SQL;
  try {
    sql = new SQL(url, { max: 8 });
    await sql`SELECT 1`;
  } catch (error) {
    throw new Error(`Cannot reach the metadata database (metadata.url): ${error instanceof Error ? error.message : String(error)}`);
  }
  return sql;
}
