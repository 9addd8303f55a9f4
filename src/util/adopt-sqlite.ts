/**
 * A plugin's SQLite data taken into the PostgreSQL database replicas share. When a single
 * Berth becomes the first replica (`berth migrate`, then `berth serve` on the old storage
 * root), its plugins open their stores on the shared database and would leave their SQLite
 * files behind: queued webhook deliveries and replication jobs never sent, retention's undo
 * records and runs lost. Each plugin calls `adoptSqliteFile` after creating its shared tables,
 * naming its own table pairs; the core knows none of them.
 *
 * The rows are copied in one transaction (all or nothing), then the file is renamed
 * `<file>.adopted-<time>` (with its -wal and -shm) so it is never adopted again. Adopting is
 * idempotent anyway, should the rename fail after the commit: rows whose natural key is already
 * in the shared table are skipped (ON CONFLICT DO NOTHING, or `key` for a table without a
 * unique constraint). A file that cannot be read is left in place with a warning; the plugin
 * starts without its rows.
 */
import { SQL } from "bun";
import { existsSync, renameSync } from "node:fs";
import { rowsOf, str } from "./rows.ts";

/** One table of the SQLite file and where its rows go. */
export interface TablePair {
  /** the table in the SQLite file */
  from: string;
  /** the shared table (already created) */
  to: string;
  /** the reading order, kept as insertion order (a queue's `seq`); default `rowid` */
  order?: readonly string[];
  /** columns not carried over: the shared table gives them their defaults (an identity, claims) */
  omit?: readonly string[];
  /** for a shared table without a unique constraint: a row equal to one there on these columns is skipped */
  key?: readonly string[];
}

export interface SqliteAdoption {
  /** the plugin: names the log lines and the lock adoptions of one plugin take */
  owner: string;
  /** the SQLite file a single Berth kept */
  file: string;
  tables: readonly TablePair[];
  log: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

/** Rows read from SQLite and inserted per statement (one JSON parameter each). */
const BATCH = 500;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Copies the rows of `adoption.file` into the shared tables once, then renames the file.
 * Never throws: a failure is logged and leaves the file for the next start.
 * @returns rows added per shared table; null when there was no file or it was not adopted
 */
export async function adoptSqliteFile(database: SQL, adoption: SqliteAdoption): Promise<Record<string, number> | null> {
  const { file, owner, log } = adoption;
  if (!existsSync(file)) return null;
  let added: Record<string, number>;
  let sqlite: SQL | null = null;
  try {
    // readwrite (not readonly): a file a killed process left with a WAL is recovered on open
    const source = (sqlite = new SQL({ adapter: "sqlite", filename: file, readwrite: true }));
    added = await database.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${`berth adopt ${owner}`}))`;
      const counts: Record<string, number> = {};
      for (const pair of adoption.tables) counts[pair.to] = await copyTable(source, tx, pair);
      return counts;
    });
  } catch (error) {
    log("warn", `${owner}: the data of a single Berth in ${file} cannot be adopted into the shared database; the file is left in place`, { error: String(error) });
    return null;
  } finally {
    await sqlite?.close().catch(() => undefined);
  }
  const renamed = `${file}.adopted-${compactTime(new Date())}`;
  try {
    renameSync(file, renamed);
    for (const suffix of ["-wal", "-shm"]) if (existsSync(file + suffix)) renameSync(file + suffix, renamed + suffix);
    log("info", `${owner}: adopted the data of a single Berth into the shared database`, { file, renamed, ...added });
  } catch (error) {
    // the rows are in; adopting the file again at the next start skips them
    log("warn", `${owner}: adopted the data of a single Berth from ${file} but cannot rename the file`, { error: String(error), ...added });
  }
  return added;
}

/** Copies one table in batches, in `order`. @returns how many rows were added */
async function copyTable(sqlite: SQL, tx: SQL, pair: TablePair): Promise<number> {
  const omitted = new Set(pair.omit ?? []);
  const shared = new Set(rowsOf(await tx`
    SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${pair.to}`).map((row) => str(row, "column_name")));
  if (shared.size === 0) throw new Error(`the shared table ${pair.to} does not exist`);
  // an older file may lack a column (claims); the shared table gives it its default then
  const columns = rowsOf(await sqlite.unsafe(`PRAGMA table_info(${identifier(pair.from)})`))
    .map((row) => str(row, "name"))
    .filter((name) => shared.has(name) && !omitted.has(name));
  if (columns.length === 0) throw new Error(`the table ${pair.from} is missing`);
  const list = columns.map(identifier).join(", ");
  const to = identifier(pair.to);
  const skipKnown = pair.key
    ? `WHERE NOT EXISTS (SELECT 1 FROM ${to} t WHERE ${pair.key.map((c) => `t.${identifier(c)} IS NOT DISTINCT FROM r.${identifier(c)}`).join(" AND ")})`
    : "";
  // json_populate_recordset types each value as the shared table's column; ordinality keeps the order
  const insert = `INSERT INTO ${to} (${list})
    SELECT ${list} FROM json_populate_recordset(NULL::${to}, $1::text::json) WITH ORDINALITY AS r ${skipKnown}
    ORDER BY r.ordinality ON CONFLICT DO NOTHING`;
  let added = 0;
  for (let offset = 0; ; offset += BATCH) {
    const rows = rowsOf(await sqlite.unsafe(`SELECT ${list} FROM ${identifier(pair.from)} ORDER BY ${(pair.order ?? ["rowid"]).map(identifier).join(", ")} LIMIT ${BATCH} OFFSET ${offset}`));
    if (rows.length === 0) break;
    const result: unknown = await tx.unsafe(insert, [JSON.stringify(rows, bigintAsText)]);
    added += countOf(result);
    if (rows.length < BATCH) break;
  }
  return added;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Cannot adopt a table or column named "${name}"`);
  return name;
}

function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function countOf(result: unknown): number {
  const count = typeof result === "object" && result !== null && "count" in result ? result.count : 0;
  return typeof count === "number" ? count : 0;
}

/** 2025-01-31T12:00:00.000Z → 20250131T120000Z: sorts, and is a valid file name everywhere */
function compactTime(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}
