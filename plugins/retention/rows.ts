/**
 * Reading result rows without trusting their types: PostgreSQL returns BIGINT as a string,
 * SQLite as a number (src/metadata/rows.ts does the same for the core; plugins may not import it).
 */
export type Row = Record<string, unknown>;

export function rowsOf(result: unknown): Row[] {
  return Array.isArray(result) ? result.filter((row): row is Row => typeof row === "object" && row !== null) : [];
}

/** @throws Error when the column holds no integer */
export function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  throw new Error(`retention store: column ${column} is not a number (${typeof value})`);
}

export function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === "string" ? value : String(value);
}
