/**
 * Reading values out of result rows without trusting their types: PostgreSQL returns BIGINT as
 * a string, SQLite as a number; a column may be NULL.
 */
export type Row = Record<string, unknown>;

export function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  throw new Error(`metadata index: column ${column} is not a number (${typeof value})`);
}

export function optNum(row: Row, column: string): number | null {
  return row[column] === null || row[column] === undefined ? null : num(row, column);
}

export function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value === "string") return value;
  throw new Error(`metadata index: column ${column} is not text (${typeof value})`);
}

export function optStr(row: Row, column: string): string | null {
  return row[column] === null || row[column] === undefined ? null : str(row, column);
}

/** A JSON column the index wrote itself: an object of strings (labels, annotations), or null. */
export function stringMap(row: Row, column: string): Record<string, string> | null {
  const parsed: unknown = JSON.parse(str(row, column));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const map: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) if (typeof value === "string") map[key] = value;
  return map;
}

/** Rows of a query, as plain records. */
export function rowsOf(result: unknown): Row[] {
  if (!Array.isArray(result)) return [];
  return result.filter((row): row is Row => typeof row === "object" && row !== null);
}
