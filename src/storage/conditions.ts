/**
 * Conditions of the storage itself, as opposed to a request's fault: a full disk, a read-only
 * mount, a storage root that went away, the metadata database or the object store out of reach. A write that meets one answers 5xx (clients retry
 * those later) instead of blaming the client, and /healthz reports it.
 */

export type StorageCondition = "full" | "read-only" | "root-missing" | "database-unreachable" | "store-unreachable";

/** Thrown instead of recreating a storage root that is no longer there, or writing into a stranger. */
export class StorageRootMissingError extends Error {
  constructor(readonly root: string) {
    super(`Storage root ${root} is missing or is not the directory Berth started on`);
    this.name = "StorageRootMissingError";
  }
}

/** The errno code of a failed system call (`ENOSPC`, ...), else undefined. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/**
 * PostgreSQL (metadata.url) away: Bun.SQL's connection errors, and the server's own "shutting
 * down" / "starting up" / connection failure states (SQLSTATE classes 57P and 08).
 */
function databaseUnreachable(error: unknown): boolean {
  const code = errnoCode(error) ?? "";
  if (code.startsWith("ERR_POSTGRES_CONNECTION")) return true;
  const state = typeof error === "object" && error !== null && "errno" in error ? String(error.errno) : "";
  return /^(57P0[1-3]|08\d{3})$/.test(state);
}

/** Answers of an object store (S3) that say "not now": its own 5xx and throttling codes, a refused or cut connection. */
const STORE_UNAVAILABLE_CODES = new Set(["ConnectionRefused", "ConnectionClosed", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"]);

function storeUnreachable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = errnoCode(error) ?? "";
  const name = "name" in error ? String(error.name) : "";
  const status = "status" in error && typeof error.status === "number" ? error.status : 0;
  if (name === "S3RequestError") return status >= 500 || STORE_UNAVAILABLE_CODES.has(code);
  if (name === "S3Error") return STORE_UNAVAILABLE_CODES.has(code);
  return code === "ConnectionRefused" || code === "ConnectionClosed"; // fetch to the endpoint
}

/** Which storage condition `error` reports, or null when it is something else. */
export function storageCondition(error: unknown): StorageCondition | null {
  if (error instanceof StorageRootMissingError) return "root-missing";
  if (databaseUnreachable(error)) return "database-unreachable";
  if (storeUnreachable(error)) return "store-unreachable";
  switch (errnoCode(error)) {
    case "ENOSPC":
    case "EDQUOT":
    case "SQLITE_FULL": // a plugin's SQLite state (the webhook queue) on the same disk
      return "full";
    case "EROFS":
      return "read-only";
    default:
      return null;
  }
}

/** What each condition is called in responses and in /healthz. */
export const CONDITION_MESSAGES: Record<StorageCondition, string> = {
  full: "storage is full",
  "read-only": "storage is read-only",
  "root-missing": "storage root is missing or replaced",
  "database-unreachable": "the metadata database is unreachable; try again shortly",
  "store-unreachable": "the object store is unreachable or busy; try again shortly",
};
