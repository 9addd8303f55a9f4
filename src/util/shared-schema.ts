/**
 * Creates tables in the PostgreSQL database replicas share. Replicas starting together would
 * race on `CREATE TABLE IF NOT EXISTS` (PostgreSQL's catalog refuses the second one with a
 * duplicate pg_type row), so the statements run in one transaction holding an advisory lock
 * named after their owner.
 */
import type { SQL } from "bun";

export async function createSharedTables(sql: SQL, owner: string, statements: readonly string[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`berth schema ${owner}`}))`;
    for (const statement of statements) await tx.unsafe(statement);
  });
}
