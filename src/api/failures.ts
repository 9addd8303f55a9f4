/**
 * What a handler's failure becomes for the client: a full disk 507, a read-only or vanished
 * root 503 (the server's condition, retried later), the domain's own error as it is, anything
 * else 500 without details. The server's conditions and the unexpected are logged.
 */
import type { RequestInfo } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import { RegistryError } from "../oci/errors.ts";
import { CONDITION_MESSAGES, errnoCode, storageCondition } from "../storage/conditions.ts";
import { HttpError, internalError } from "./errors.ts";

export function storageFailure(error: unknown): HttpError | null {
  const condition = storageCondition(error);
  if (condition === null) return null;
  return new HttpError("UNKNOWN", { status: condition === "full" ? 507 : 503, message: CONDITION_MESSAGES[condition] });
}

/** The error to answer for `error`, logged when it is not the client's. */
export function failureOf(error: unknown, log: Logger, context: { request: Request; url: URL; info: RequestInfo }): RegistryError {
  const where = { id: context.info.id, method: context.request.method, path: context.url.pathname };
  const storage = storageFailure(error);
  if (storage) {
    log("error", storage.message, { ...where, error: errnoCode(error) ?? String(error) });
    return storage;
  }
  if (error instanceof RegistryError) return error;
  log("error", "request failed", { ...where, error: String(error instanceof Error ? (error.stack ?? error) : error) });
  return internalError();
}
