/**
 * Reading values out of result rows without trusting their types, for the metadata index
 * (src/metadata/rows.ts re-exports these) and plugins' own tables: PostgreSQL returns BIGINT
 * (and count(*)) as a string, SQLite as a number; a column may be NULL.
 */
export type Row = Record<string, unknown>;

/** Rows of a query, as plain records. */
export function rowsOf(result: unknown): Row[] {
  if (!Array.isArray(result)) return [];
  return result.filter((row): row is Row => typeof row === "object" && row !== null);
}

/** @throws Error when the column is not an integer */
export function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  throw new Error(`Column ${column} is not a number (${typeof value})`);
}

export function optNum(row: Row, column: string): number | null {
  return row[column] === null || row[column] === undefined ? null : num(row, column);
}

/** @throws Error when the column is not text */
export function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value === "string") return value;
  throw new Error(`Column ${column} is not text (${typeof value})`);
}

export function optStr(row: Row, column: string): string | null {
  return row[column] === null || row[column] === undefined ? null : str(row, column);
}
