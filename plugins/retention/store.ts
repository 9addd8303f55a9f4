/**
 * The retention plugin's durable state in `<dataDir>/retention.db`: the tags it removed (for
 * undo, and to hold their manifests until the undo window has passed) and its runs.
 */
import { SQL } from "bun";
import { join } from "node:path";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS removed_tags (
     repository TEXT NOT NULL,
     tag TEXT NOT NULL,
     digest TEXT NOT NULL,
     removed_at INTEGER NOT NULL,
     run_id TEXT NOT NULL,
     restored_at INTEGER)`,
  `CREATE INDEX IF NOT EXISTS removed_tags_name ON removed_tags (repository, tag)`,
  `CREATE INDEX IF NOT EXISTS removed_tags_digest ON removed_tags (repository, digest)`,
  `CREATE TABLE IF NOT EXISTS runs (
     id TEXT PRIMARY KEY,
     started_at INTEGER NOT NULL,
     report TEXT NOT NULL)`,
];

export interface RemovedTag {
  repository: string;
  tag: string;
  digest: string;
  removedAt: number;
}

function text(row: Record<string, unknown>, key: string): string {
  const value = row[key];
  return typeof value === "string" ? value : String(value);
}

function number(row: Record<string, unknown>, key: string): number {
  return Number(row[key]);
}

function rows(result: unknown): Array<Record<string, unknown>> {
  return Array.isArray(result) ? result.filter((row): row is Record<string, unknown> => typeof row === "object" && row !== null) : [];
}

export class RetentionStore {
  private constructor(private readonly sql: SQL) {}

  static async open(dir: string): Promise<RetentionStore> {
    const sql = new SQL({ adapter: "sqlite", filename: join(dir, "retention.db"), create: true, readwrite: true });
    await sql`PRAGMA journal_mode = WAL`;
    await sql`PRAGMA busy_timeout = 5000`;
    for (const statement of SCHEMA) await sql.unsafe(statement);
    return new RetentionStore(sql);
  }

  async recordRemoval(removal: RemovedTag, runId: string): Promise<void> {
    await this.sql`INSERT INTO removed_tags (repository, tag, digest, removed_at, run_id) VALUES (${removal.repository}, ${removal.tag}, ${removal.digest}, ${removal.removedAt}, ${runId})`;
  }

  /** The latest removal of a tag not yet restored, removed after `since`. */
  async restorable(repository: string, tag: string, since: number): Promise<RemovedTag | null> {
    const [row] = rows(await this.sql`
      SELECT digest, removed_at FROM removed_tags
      WHERE repository = ${repository} AND tag = ${tag} AND restored_at IS NULL AND removed_at > ${since}
      ORDER BY removed_at DESC LIMIT 1`);
    return row ? { repository, tag, digest: text(row, "digest"), removedAt: number(row, "removed_at") } : null;
  }

  async markRestored(repository: string, tag: string, digest: string, now: number): Promise<void> {
    await this.sql`UPDATE removed_tags SET restored_at = ${now} WHERE repository = ${repository} AND tag = ${tag} AND digest = ${digest} AND restored_at IS NULL`;
  }

  /** digest → latest removal time of a tag of it (not restored) in the repository */
  async removalsIn(repository: string): Promise<Map<string, number>> {
    const found = rows(await this.sql`
      SELECT digest, max(removed_at) AS removed_at FROM removed_tags
      WHERE repository = ${repository} AND restored_at IS NULL GROUP BY digest`);
    return new Map(found.map((row) => [text(row, "digest"), number(row, "removed_at")]));
  }

  /** Is a removal of a tag of this manifest still within the undo window? */
  async held(repository: string, digest: string, since: number): Promise<boolean> {
    const [row] = rows(await this.sql`
      SELECT 1 AS held FROM removed_tags WHERE repository = ${repository} AND digest = ${digest} AND restored_at IS NULL AND removed_at > ${since} LIMIT 1`);
    return row !== undefined;
  }

  async saveRun(id: string, startedAt: number, report: unknown): Promise<void> {
    await this.sql`INSERT INTO runs (id, started_at, report) VALUES (${id}, ${startedAt}, ${JSON.stringify(report)})`;
    // the last 1,000 runs are plenty to look back on
    await this.sql`DELETE FROM runs WHERE id NOT IN (SELECT id FROM runs ORDER BY started_at DESC LIMIT 1000)`;
  }

  async runs(limit: number): Promise<unknown[]> {
    const found = rows(await this.sql`SELECT report FROM runs ORDER BY started_at DESC LIMIT ${limit}`);
    return found.map((row) => JSON.parse(text(row, "report")) as unknown);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}
