/**
 * The metadata index's tables, in the SQL both SQLite and PostgreSQL accept (BIGINT for every
 * count, size and time in ms; TEXT for digests and JSON; no autoincrement: ids are UUIDs).
 * The directory tree stays the source of truth; everything here can be rebuilt from it.
 */
export const SCHEMA_VERSION = "1";

export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS repositories (
     name TEXT PRIMARY KEY,
     created_at BIGINT NOT NULL,
     pushed_at BIGINT NOT NULL)`,
  // review_at: set while the blob has no reference (the GC queue); null when referenced
  `CREATE TABLE IF NOT EXISTS blobs (
     digest TEXT PRIMARY KEY,
     size BIGINT NOT NULL,
     created_at BIGINT NOT NULL,
     review_at BIGINT)`,
  `CREATE INDEX IF NOT EXISTS blobs_review ON blobs (review_at)`,
  // _layers links: which repositories a blob was pushed or mounted into
  `CREATE TABLE IF NOT EXISTS repository_blobs (
     repository TEXT NOT NULL,
     digest TEXT NOT NULL,
     linked_at BIGINT NOT NULL,
     PRIMARY KEY (repository, digest))`,
  `CREATE INDEX IF NOT EXISTS repository_blobs_digest ON repository_blobs (digest)`,
  `CREATE TABLE IF NOT EXISTS manifests (
     repository TEXT NOT NULL,
     digest TEXT NOT NULL,
     media_type TEXT NOT NULL,
     size BIGINT NOT NULL,
     total_size BIGINT NOT NULL,
     artifact_type TEXT,
     subject TEXT,
     config_digest TEXT,
     platforms TEXT NOT NULL,
     labels TEXT NOT NULL,
     annotations TEXT NOT NULL,
     created TEXT,
     pushed_at BIGINT NOT NULL,
     last_pulled_at BIGINT,
     pull_count BIGINT NOT NULL,
     PRIMARY KEY (repository, digest))`,
  `CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repository, subject)`,
  `CREATE INDEX IF NOT EXISTS manifests_digest ON manifests (digest)`,
  // what a manifest references: its config and layers (blob) and an index's children (manifest)
  `CREATE TABLE IF NOT EXISTS manifest_references (
     repository TEXT NOT NULL,
     digest TEXT NOT NULL,
     child TEXT NOT NULL,
     kind TEXT NOT NULL,
     size BIGINT NOT NULL,
     PRIMARY KEY (repository, digest, child))`,
  `CREATE INDEX IF NOT EXISTS manifest_references_child ON manifest_references (child)`,
  `CREATE TABLE IF NOT EXISTS tags (
     repository TEXT NOT NULL,
     tag TEXT NOT NULL,
     digest TEXT NOT NULL,
     updated_at BIGINT NOT NULL,
     PRIMARY KEY (repository, tag))`,
  `CREATE INDEX IF NOT EXISTS tags_digest ON tags (repository, digest)`,
  // digest null: the tag was deleted
  `CREATE TABLE IF NOT EXISTS tag_history (
     id TEXT PRIMARY KEY,
     repository TEXT NOT NULL,
     tag TEXT NOT NULL,
     digest TEXT,
     at BIGINT NOT NULL,
     actor TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS tag_history_tag ON tag_history (repository, tag, at)`,
  // changes in flight: written durably before the tree changes, removed with the index update
  `CREATE TABLE IF NOT EXISTS journal (
     id TEXT PRIMARY KEY,
     repository TEXT NOT NULL,
     digest TEXT,
     tag TEXT,
     started_at BIGINT NOT NULL)`,
  // upload sessions in progress (written without waiting for the disk: rows a crash leaves
  // behind go with the sessions' purge, storage.uploads.purge_after)
  `CREATE TABLE IF NOT EXISTS uploads (
     id TEXT PRIMARY KEY,
     repository TEXT NOT NULL,
     started_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS gc_runs (
     id TEXT PRIMARY KEY,
     started_at BIGINT NOT NULL,
     finished_at BIGINT,
     dry_run BIGINT NOT NULL,
     blobs_deleted BIGINT NOT NULL,
     bytes_freed BIGINT NOT NULL,
     manifests_deleted BIGINT NOT NULL,
     error TEXT)`,
  // accounts (src/accounts/): not in the tree, so unlike the rest not rebuildable from it.
  // Robots keep only hashes of their secrets; previous_hash is the secret before the last
  // rotation, accepted until previous_until. repositories and actions are JSON arrays.
  `CREATE TABLE IF NOT EXISTS robots (
     name TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL,
     previous_hash TEXT,
     previous_until BIGINT,
     repositories TEXT NOT NULL,
     actions TEXT NOT NULL,
     namespace TEXT,
     description TEXT NOT NULL,
     creator TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT,
     disabled BIGINT NOT NULL,
     last_used_at BIGINT,
     last_used_addr TEXT,
     expiry_noticed_at BIGINT)`,
  // a namespace is a first path component ("team") or a repository glob ("*/base")
  `CREATE TABLE IF NOT EXISTS namespaces (
     name TEXT PRIMARY KEY,
     anonymous_pull BIGINT NOT NULL,
     created_at BIGINT NOT NULL)`,
  // member: a user name, or group:NAME for a group of [auth.groups]
  `CREATE TABLE IF NOT EXISTS namespace_members (
     namespace TEXT NOT NULL,
     member TEXT NOT NULL,
     role TEXT NOT NULL,
     added_at BIGINT NOT NULL,
     PRIMARY KEY (namespace, member))`,
];
