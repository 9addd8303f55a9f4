/**
 * The retention plugin's durable state: the tags it removed (for undo, and to hold their
 * manifests until the undo window has passed), its runs, and when each scheduled policy last
 * ran. One process keeps it in `<dataDir>/retention.db`; replicas keep it in the PostgreSQL
 * database they share (tables `retention_*`), so a restore, the runs list and GC's undo hold
 * see every replica's removals. The same statements run on both; times are ms (BIGINT).
 */
import { SQL } from "bun";
import { join } from "node:path";
import { type Row, num, rowsOf } from "../../src/util/rows.ts";
import { adoptSqliteFile, type SqliteAdoption } from "../../src/util/adopt-sqlite.ts";
import { createSharedTables } from "../../src/util/shared-schema.ts";

/** A text column; another type (a driver's own) as its string. */
function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === "string" ? value : String(value);
}

interface Tables {
  removed: string;
  runs: string;
  schedule: string;
}

/** SQLite keeps the names of the files Berth wrote before replicas existed */
const SQLITE_TABLES: Tables = { removed: "removed_tags", runs: "runs", schedule: "schedule" };
const SHARED_TABLES: Tables = { removed: "retention_removed_tags", runs: "retention_runs", schedule: "retention_schedule" };

function schema(t: Tables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.removed} (
       repository TEXT NOT NULL,
       tag TEXT NOT NULL,
       digest TEXT NOT NULL,
       removed_at BIGINT NOT NULL,
       run_id TEXT NOT NULL,
       restored_at BIGINT)`,
    `CREATE INDEX IF NOT EXISTS ${t.removed}_name ON ${t.removed} (repository, tag)`,
    `CREATE INDEX IF NOT EXISTS ${t.removed}_digest ON ${t.removed} (repository, digest)`,
    `CREATE TABLE IF NOT EXISTS ${t.runs} (
       id TEXT PRIMARY KEY,
       started_at BIGINT NOT NULL,
       report TEXT NOT NULL)`,
    // one row per scheduled policy: replicas' timers tick out of phase, the policy runs once a period
    `CREATE TABLE IF NOT EXISTS ${t.schedule} (
       policy BIGINT PRIMARY KEY,
       last_run_at BIGINT NOT NULL)`,
  ];
}

export interface RemovedTag {
  repository: string;
  tag: string;
  digest: string;
  removedAt: number;
}

export class RetentionStore {
  private constructor(
    private readonly sql: SQL,
    private readonly tables: Tables,
    /** false for the replicas' shared pool, which Berth closes itself */
    private readonly owned: boolean,
  ) {}

  /**
   * The shared database when replicas share one (`ctx.cluster.database`), else SQLite in
   * `dataDir`. On the shared database, the `retention.db` a single Berth left in `dataDir` is
   * adopted first: its undo records, runs and schedule.
   */
  static async open(dataDir: string, shared: SQL | null, log: SqliteAdoption["log"] = () => {}): Promise<RetentionStore> {
    const file = join(dataDir, "retention.db");
    if (shared) {
      await createSharedTables(shared, "retention", schema(SHARED_TABLES));
      const tables = [
        // undo records have no unique key: a removal is the same one when all but restored_at match
        { from: SQLITE_TABLES.removed, to: SHARED_TABLES.removed, key: ["repository", "tag", "digest", "removed_at", "run_id"] },
        { from: SQLITE_TABLES.runs, to: SHARED_TABLES.runs },
        { from: SQLITE_TABLES.schedule, to: SHARED_TABLES.schedule },
      ];
      await adoptSqliteFile(shared, { owner: "retention", file, tables, log });
      return new RetentionStore(shared, SHARED_TABLES, false);
    }
    const sql = new SQL({ adapter: "sqlite", filename: file, create: true, readwrite: true });
    await sql`PRAGMA journal_mode = WAL`;
    await sql`PRAGMA busy_timeout = 5000`;
    for (const statement of schema(SQLITE_TABLES)) await sql.unsafe(statement);
    return new RetentionStore(sql, SQLITE_TABLES, true);
  }

  private get removed() {
    return this.sql(this.tables.removed);
  }

  private get runsTable() {
    return this.sql(this.tables.runs);
  }

  async recordRemoval(removal: RemovedTag, runId: string): Promise<void> {
    await this.sql`INSERT INTO ${this.removed} (repository, tag, digest, removed_at, run_id) VALUES (${removal.repository}, ${removal.tag}, ${removal.digest}, ${removal.removedAt}, ${runId})`;
  }

  /** The latest removal of a tag not yet restored, removed after `since`. */
  async restorable(repository: string, tag: string, since: number): Promise<RemovedTag | null> {
    const [row] = rowsOf(await this.sql`
      SELECT digest, removed_at FROM ${this.removed}
      WHERE repository = ${repository} AND tag = ${tag} AND restored_at IS NULL AND removed_at > ${since}
      ORDER BY removed_at DESC LIMIT 1`);
    return row ? { repository, tag, digest: text(row, "digest"), removedAt: num(row, "removed_at") } : null;
  }

  async markRestored(repository: string, tag: string, digest: string, now: number): Promise<void> {
    await this.sql`UPDATE ${this.removed} SET restored_at = ${now} WHERE repository = ${repository} AND tag = ${tag} AND digest = ${digest} AND restored_at IS NULL`;
  }

  /** digest → latest removal time of a tag of it (not restored) in the repository */
  async removalsIn(repository: string): Promise<Map<string, number>> {
    const found = rowsOf(await this.sql`
      SELECT digest, max(removed_at) AS removed_at FROM ${this.removed}
      WHERE repository = ${repository} AND restored_at IS NULL GROUP BY digest`);
    return new Map(found.map((row: Row) => [text(row, "digest"), num(row, "removed_at")]));
  }

  /** Is a removal of a tag of this manifest still within the undo window? */
  async held(repository: string, digest: string, since: number): Promise<boolean> {
    const [row] = rowsOf(await this.sql`
      SELECT 1 AS held FROM ${this.removed} WHERE repository = ${repository} AND digest = ${digest} AND restored_at IS NULL AND removed_at > ${since} LIMIT 1`);
    return row !== undefined;
  }

  async saveRun(id: string, startedAt: number, report: unknown): Promise<void> {
    await this.sql`INSERT INTO ${this.runsTable} (id, started_at, report) VALUES (${id}, ${startedAt}, ${JSON.stringify(report)})`;
    // the last 1,000 runs are plenty to look back on
    await this.sql`DELETE FROM ${this.runsTable} WHERE id NOT IN (SELECT id FROM ${this.runsTable} ORDER BY started_at DESC LIMIT 1000)`;
  }

  async runs(limit: number): Promise<unknown[]> {
    const found = rowsOf(await this.sql`SELECT report FROM ${this.runsTable} ORDER BY started_at DESC LIMIT ${limit}`);
    return found.map((row) => JSON.parse(text(row, "report")) as unknown);
  }

  /**
   * Claims the scheduled run of `policy` at `now` unless one started less than `minGapMs` ago.
   * Call it holding the run lease: the read and the write are then never interleaved.
   */
  async claimScheduled(policy: number, now: number, minGapMs: number): Promise<boolean> {
    const table = this.sql(this.tables.schedule);
    const [row] = rowsOf(await this.sql`SELECT last_run_at FROM ${table} WHERE policy = ${policy}`);
    if (row && now - num(row, "last_run_at") < minGapMs) return false;
    await this.sql`INSERT INTO ${table} (policy, last_run_at) VALUES (${policy}, ${now})
                   ON CONFLICT (policy) DO UPDATE SET last_run_at = EXCLUDED.last_run_at`;
    return true;
  }

  async close(): Promise<void> {
    if (this.owned) await this.sql.close();
  }
}
