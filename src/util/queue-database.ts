/**
 * The SQLite file of a plugin's durable queue (webhook deliveries, replication jobs): WAL, one
 * connection that records what arrives with `synchronous = FULL` (a queued item survives a
 * power cut before anything tries to send it) and one for the worker's bookkeeping with
 * `synchronous = NORMAL`. The files are private (0600): queues name targets and events. They
 * are created here first, because SQLite gives its -wal and -shm files the database file's
 * mode; files of an older version are fixed.
 */
import { SQL } from "bun";
import { chmodSync, closeSync, existsSync, openSync } from "node:fs";

export interface QueueDatabase {
  /** records arriving items (synchronous = FULL) */
  ingest: SQL;
  /** the worker's bookkeeping (synchronous = NORMAL) */
  main: SQL;
}

export async function openQueueDatabase(filename: string, schema: readonly string[]): Promise<QueueDatabase> {
  closeSync(openSync(filename, "a", 0o600));
  for (const path of [filename, `${filename}-wal`, `${filename}-shm`]) {
    if (existsSync(path)) chmodSync(path, 0o600);
  }
  const main = new SQL({ adapter: "sqlite", filename, create: true, readwrite: true });
  await main`PRAGMA journal_mode = WAL`;
  await main`PRAGMA synchronous = NORMAL`;
  await main`PRAGMA busy_timeout = 5000`;
  for (const statement of schema) await main.unsafe(statement);
  const ingest = new SQL({ adapter: "sqlite", filename, readwrite: true });
  await ingest`PRAGMA synchronous = FULL`;
  await ingest`PRAGMA busy_timeout = 5000`;
  return { ingest, main };
}
