/**
 * Conditions of the storage itself, as opposed to a request's fault: a full disk, a read-only
 * mount, a storage root that went away, the metadata database out of reach. A write that meets one answers 5xx (clients retry
 * those later) instead of blaming the client, and /healthz reports it.
 */

export type StorageCondition = "full" | "read-only" | "root-missing" | "database-unreachable";

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

/** Which storage condition `error` reports, or null when it is something else. */
export function storageCondition(error: unknown): StorageCondition | null {
  if (error instanceof StorageRootMissingError) return "root-missing";
  if (databaseUnreachable(error)) return "database-unreachable";
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
};
