/**
 * The metadata index's tables as `berth migrate` copies them, read from the schema itself
 * (schema.ts), so a table added there is copied without a change here: each table's name and
 * the columns of its primary key, by which its rows are read in pages.
 */
import { SCHEMA } from "../metadata/schema.ts";

export interface TableShape {
  name: string;
  /** the primary key's columns, in order */
  key: string[];
}

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS (\w+) \(/;
/** a table-level key: PRIMARY KEY (a, b) */
const COMPOSITE_KEY = /PRIMARY KEY \(([\w, ]+)\)/;
/** a column-level key: name TYPE PRIMARY KEY */
const COLUMN_KEY = /(\w+) \w+ PRIMARY KEY/;

/**
 * Every table of SCHEMA, in the schema's order.
 * @throws Error for a table without a primary key (its rows could not be paged)
 */
export function metadataTables(schema: readonly string[] = SCHEMA): TableShape[] {
  const tables: TableShape[] = [];
  for (const statement of schema) {
    const name = CREATE_TABLE.exec(statement.trim())?.[1];
    if (name === undefined) continue; // an index
    const composite = COMPOSITE_KEY.exec(statement)?.[1];
    const key = composite !== undefined ? composite.split(",").map((column) => column.trim()) : [COLUMN_KEY.exec(statement)?.[1]];
    if (!key.every((column): column is string => column !== undefined && column !== "")) throw new Error(`metadata table ${name} has no primary key: berth migrate cannot page its rows`);
    tables.push({ name, key });
  }
  return tables;
}
