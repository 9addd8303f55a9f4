/**
 * HTTP for the domain's errors: each code's status (the OCI distribution spec's table) and the
 * JSON envelope. The registry throws status-free errors (src/oci/errors.ts); only this layer,
 * and the HTTP layers beside it (auth, app), decide what a client sees on the wire.
 */
import { type ErrorCode, RegistryError, type RegistryErrorOptions } from "../oci/errors.ts";
import { ReadOnlyMaintenance } from "../registry/errors.ts";
import { type Denial, noteDenial } from "../http/denials.ts";

export const HTTP_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  NOT_FOUND: 404,
  UNKNOWN: 500,
} as const satisfies Record<ErrorCode, number>;

export interface HttpErrorOptions extends RegistryErrorOptions {
  /** where the spec asks for another status than the code's (413 for a too-large manifest) */
  status?: number;
  headers?: Record<string, string>;
}

/** An error the HTTP layer raises itself, with a status or headers of its own (405 + Allow). */
export class HttpError extends RegistryError {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: HttpErrorOptions = {}) {
    super(code, options);
    this.status = options.status ?? HTTP_STATUS[code];
    this.headers = options.headers ?? {};
  }
}

/** The spec's JSON envelope, with the code's status (or the HttpError's). HEAD answers carry no body. */
export function errorResponse(error: RegistryError, method: string, extraHeaders: Record<string, string> = {}): Response {
  // read-only for maintenance is the server's state, not a method the resource lacks: 503
  const status = error instanceof HttpError ? error.status : error instanceof ReadOnlyMaintenance ? 503 : HTTP_STATUS[error.code];
  const headers: Record<string, string> = {
    "Content-Type": "application/json; charset=utf-8",
    ...(error instanceof HttpError ? error.headers : {}),
    ...extraHeaders,
  };
  const body = JSON.stringify({ errors: [{ code: error.code, message: error.message, detail: error.detail }] });
  let response: Response;
  if (method === "HEAD") {
    headers["Content-Length"] = String(Buffer.byteLength(body));
    response = new Response(null, { status, headers });
  } else response = new Response(body, { status, headers });
  // a denial's message names its rule (a plugin's, the CORS origin list): the audit line says it
  if (status === 403 && error.code === "DENIED") noteDenial(response, denialOf(error));
  return response;
}

function denialOf(error: RegistryError): Denial {
  const { detail } = error;
  const plugin = typeof detail === "object" && detail !== null && "plugin" in detail && typeof detail.plugin === "string" ? detail.plugin : undefined;
  return plugin === undefined ? { reason: error.message } : { reason: error.message, plugin };
}

export function methodNotAllowed(method: string, allowed: string): HttpError {
  return new HttpError("UNSUPPORTED", {
    message: `Method ${method} is not allowed here (allowed: ${allowed})`,
    headers: { Allow: allowed },
  });
}

/** The 500 answer for anything unexpected: the details go to the log, never to the client. */
export function internalError(): RegistryError {
  return new RegistryError("UNKNOWN", { message: "Internal error; the server log has the details" });
}
