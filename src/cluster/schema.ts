/**
 * Tables only replicas sharing a PostgreSQL metadata database need (src/cluster/). Times are
 * the database server's clock in ms (`NOW_MS`), so replicas on hosts whose clocks differ
 * still agree on when a lease ran out or a replica went quiet.
 */
export const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

export const CLUSTER_SCHEMA: readonly string[] = [
  // every running replica, seen_at renewed by its heartbeat; a row that stops moving is a dead replica
  `CREATE TABLE IF NOT EXISTS cluster_replicas (
     id TEXT PRIMARY KEY,
     addr TEXT NOT NULL,
     started_at BIGINT NOT NULL,
     seen_at BIGINT NOT NULL)`,
  // one holder per name (gc, retention...) until expires_at; renewed while the work runs
  `CREATE TABLE IF NOT EXISTS cluster_leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at BIGINT NOT NULL)`,
  // a blob garbage collection is deleting: pushes that need it wait until it is gone
  `CREATE TABLE IF NOT EXISTS cluster_blob_claims (
     digest TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     claimed_at BIGINT NOT NULL)`,
  // failed logins per (address, user) and per address, counted by every replica
  `CREATE TABLE IF NOT EXISTS cluster_login_failures (
     key TEXT PRIMARY KEY,
     failures BIGINT NOT NULL,
     last_at BIGINT NOT NULL,
     blocked_until BIGINT NOT NULL)`,
  // settings every replica follows at once (maintenance mode); the first token key of a new storage
  `CREATE TABLE IF NOT EXISTS cluster_settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at BIGINT NOT NULL)`,
];
