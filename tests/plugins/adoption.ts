/**
 * Shared by the plugins' adoption tests (src/util/adopt-sqlite.ts): a fresh PostgreSQL database
 * with a pool as a replica's `ctx.cluster.database`, a logger that keeps its lines, and the
 * files an adoption leaves in a data directory.
 */
import { SQL } from "bun";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

export interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface SharedDatabase {
  db: TestDatabase;
  sql: SQL;
  close(): Promise<void>;
}

export async function sharedDatabase(prefix: string): Promise<SharedDatabase> {
  const db = await createTestDatabase(prefix);
  const sql = new SQL(db.url, { max: 4 });
  return {
    db,
    sql,
    async close() {
      await sql.close();
      await db.drop();
    },
  };
}

/** A logger for a store's `open`, and the lines it got. */
export function captureLog(): { lines: LogLine[]; log: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void } {
  const lines: LogLine[] = [];
  return { lines, log: (level, message, fields = {}) => void lines.push({ level, message, fields }) };
}

/** The names in `dir` that start with `file` (the file itself, its -wal/-shm, adopted copies). */
export function filesNamed(dir: string, file: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(file)).sort();
}

/** The latest adopted copy of `file` in `dir`. @throws Error when there is none */
export function adoptedCopy(dir: string, file: string): string {
  const pattern = new RegExp(`^${file.replace(".", "\\.")}\\.adopted-\\d{8}T\\d{6}Z$`);
  const latest = readdirSync(dir).filter((name) => pattern.test(name)).sort().at(-1);
  if (latest === undefined) throw new Error(`no adopted copy of ${file} in ${dir}: ${JSON.stringify(readdirSync(dir))}`);
  return join(dir, latest);
}

/** Puts the adopted copy back under its name, as if the rename after the commit had failed. */
export function restoreAdopted(dir: string, file: string): void {
  copyFileSync(adoptedCopy(dir, file), join(dir, file));
}

/** Bytes that are no SQLite database, where a store's file would be. @returns them */
export function writeCorrupt(dir: string, file: string): string {
  const garbage = `not a database ${"x".repeat(4096)}`;
  writeFileSync(join(dir, file), garbage);
  return garbage;
}
