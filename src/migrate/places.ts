/**
 * Where `berth migrate` copies from and to: the source is the configuration `serve` would read;
 * the target another configuration file, read alone (BERTH_* and REGISTRY_* variables describe
 * the source, and would otherwise place the target on it). Neither half may be copied onto
 * itself.
 */
import { resolve } from "node:path";
import { loadConfiguration, type ResolvedConfig } from "../config/load.ts";
import { type DatabaseLocation, sqlitePath } from "../metadata/database.ts";

export interface Place {
  resolved: ResolvedConfig;
  root: string;
}

/** The target configuration from `file` only; AWS_* credentials still apply to an s3 driver. */
export function loadTarget(file: string): Place {
  const { resolved } = loadConfiguration({ path: file, env: {} });
  if (resolved.storage.driver === "inmemory") throw new Error(`${file}: storage.driver is "inmemory": a migration needs a storage that keeps what it gets`);
  return { resolved, root: resolved.storage.root };
}

export function databaseLocation({ resolved, root }: Place): DatabaseLocation {
  return { url: resolved.metadata.url, root, inMemory: false };
}

/** Is the index kept in SQLite, and where? null for PostgreSQL. */
export function sqliteFile(place: Place): string | null {
  const { url } = place.resolved.metadata;
  if (url === "") return sqlitePath(place.root);
  return url.startsWith("sqlite:") ? resolve(url.slice("sqlite:".length)) : null;
}

/** The database a place names, comparable with another's (no credentials). */
function databaseIdentity(place: Place): string {
  const file = sqliteFile(place);
  if (file !== null) return `sqlite:${file}`;
  const url = new URL(place.resolved.metadata.url);
  return `postgres://${url.hostname}:${url.port || "5432"}${url.pathname}`;
}

function storageIdentity({ resolved }: Place): string {
  const { storage } = resolved;
  if (storage.driver !== "s3") return `${storage.driver}:${storage.root}`;
  const { endpoint, bucket, prefix } = storage.s3;
  return `s3:${endpoint}/${bucket}/${prefix.replace(/^\/+|\/+$/g, "")}`;
}

/** @throws Error when a half to be copied is the same at both ends */
export function checkDistinct(source: Place, target: Place, halves: { storage: boolean; metadata: boolean }): void {
  if (halves.storage && storageIdentity(source) === storageIdentity(target)) {
    throw new Error("the source and the target name the same storage: nothing to copy (--metadata-only copies the index alone)");
  }
  if (halves.metadata && databaseIdentity(source) === databaseIdentity(target)) {
    throw new Error("the source and the target name the same metadata database: nothing to copy (--storage-only copies the storage alone)");
  }
}

/** metadata.url without its password, for the operator's eyes. */
export function redactedUrl(url: string): string {
  if (!/^postgres(ql)?:/.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    return `${parsed.protocol}//${parsed.username}:<redacted>@${parsed.host}${parsed.pathname}${parsed.search}`;
  } catch {
    return "<unparsable URL>";
  }
}

/** One line per half: where the place keeps its storage and its index. */
export function describe(place: Place): { storage: string; metadata: string } {
  const { storage, metadata } = place.resolved;
  const where =
    storage.driver === "s3"
      ? `s3 bucket "${storage.s3.bucket}"${storage.s3.prefix === "" ? "" : ` prefix "${storage.s3.prefix}"`} at ${storage.s3.endpoint || "AWS_ENDPOINT_URL / AWS S3"}`
      : `${storage.driver} at ${storage.root}`;
  const file = sqliteFile(place);
  return { storage: where, metadata: file === null ? `PostgreSQL ${redactedUrl(metadata.url)}` : `SQLite at ${file}` };
}
