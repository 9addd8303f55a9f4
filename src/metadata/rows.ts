/**
 * Reading values out of the index's result rows without trusting their types: PostgreSQL
 * returns BIGINT as a string, SQLite as a number; a column may be NULL. The readers are
 * src/util/rows.ts (shared with plugins' own tables); the index adds its JSON columns.
 */
import { str, type Row } from "../util/rows.ts";

export { num, optNum, optStr, rowsOf, str, type Row } from "../util/rows.ts";

/** A JSON column the index wrote itself: an object of strings (labels, annotations), or null. */
export function stringMap(row: Row, column: string): Record<string, string> | null {
  const parsed: unknown = JSON.parse(str(row, column));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const map: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) if (typeof value === "string") map[key] = value;
  return map;
}
