/**
 * The metadata half of `berth migrate`: every table of the index (tables.ts) copied row for
 * row from one database to another (SQLite → PostgreSQL is the usual pair; the statements are
 * the same on both). Robots and namespaces are among them: unlike the rest, they cannot be
 * rebuilt from the storage.
 *
 * Into an empty database only, never merged: the whole copy is one transaction on the target
 * that first checks that no table holds a row, so a copy that fails leaves the target as empty
 * as it found it, and a second run is refused instead of doubling anything.
 */
import type { SQL } from "bun";
import type { MetadataDatabase } from "../metadata/database.ts";
import { num, type Row, rowsOf } from "../metadata/rows.ts";
import { metadataTables, type TableShape } from "./tables.ts";

/** Rows read and inserted at once (15 columns at most: far below either database's limit on parameters). */
const PAGE_ROWS = 500;
/** The row every database gets when it is opened (database.ts): not the index's content. */
const SCHEMA_ROW = "schema";

export interface TableCount {
  table: string;
  rows: number;
}

/** Thrown when the target database already holds an index. */
export class TargetNotEmptyError extends Error {
  constructor(readonly occupied: TableCount[]) {
    super(
      `the target metadata database is not empty (${occupied.map((t) => `${t.table}: ${t.rows} rows`).join(", ")}): ` +
        "berth migrate copies into an empty database only and never merges; give [metadata] url a new database, or use --storage-only",
    );
    this.name = "TargetNotEmptyError";
  }
}

function quoted(identifier: string): string {
  return `"${identifier}"`;
}

/** The condition on a table's rows that are the index's content: all but meta's schema row. */
function contentOf(table: string): string {
  return table === "meta" ? `key <> '${SCHEMA_ROW}'` : "TRUE";
}

/** Rows in each table (meta's schema row is not counted: every database has it). */
export async function countRows(sql: SQL, tables: TableShape[] = metadataTables()): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  for (const { name } of tables) {
    const [row] = rowsOf(await sql.unsafe(`SELECT count(*) AS n FROM ${quoted(name)} WHERE ${contentOf(name)}`));
    counts.push({ table: name, rows: row === undefined ? 0 : num(row, "n") });
  }
  return counts;
}

/** The tables of a database that hold rows. */
export async function occupiedTables(sql: SQL): Promise<TableCount[]> {
  return (await countRows(sql)).filter((count) => count.rows > 0);
}

/**
 * Copies every table of `source` into `target`, in one transaction.
 * @throws TargetNotEmptyError when the target holds rows already (nothing is written)
 */
export async function copyMetadata(source: SQL, target: MetadataDatabase, progress?: (table: string, rows: number) => void): Promise<TableCount[]> {
  const tables = metadataTables();
  return target.write(async (tx) => {
    const occupied = (await countRows(tx, tables)).filter((count) => count.rows > 0);
    if (occupied.length > 0) throw new TargetNotEmptyError(occupied);
    const copied: TableCount[] = [];
    for (const table of tables) {
      let rows = 0;
      for await (const page of pagesOf(source, table)) {
        await tx`INSERT INTO ${tx(table.name)} ${tx(page)}`;
        rows += page.length;
        progress?.(table.name, rows);
      }
      copied.push({ table: table.name, rows });
    }
    return copied;
  });
}

/** A table's rows in pages, by its primary key (no offset to skip: each page starts after the last key). */
async function* pagesOf(sql: SQL, table: TableShape): AsyncGenerator<Row[]> {
  const key = table.key.map(quoted).join(", ");
  const placeholders = table.key.map((_, i) => `$${i + 1}`).join(", ");
  let after: unknown[] | null = null;
  for (;;) {
    // the target has its schema row since it was opened (same version: same binary)
    const afterLast = after === null ? "" : ` AND (${key}) > (${placeholders})`;
    const page = rowsOf(await sql.unsafe(`SELECT * FROM ${quoted(table.name)} WHERE ${contentOf(table.name)}${afterLast} ORDER BY ${key} LIMIT ${PAGE_ROWS}`, after ?? []));
    if (page.length === 0) return;
    // plain records: a result row may carry more than its columns
    yield page.map((row) => ({ ...row }));
    const last = page[page.length - 1] as Row;
    after = table.key.map((column) => last[column]);
    if (page.length < PAGE_ROWS) return;
  }
}
