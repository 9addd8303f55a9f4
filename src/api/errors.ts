/**
 * The registry's error codes: each registered once with its HTTP status and default message,
 * as in the OCI distribution spec (plus Distribution's RANGE_INVALID and
 * PAGINATION_NUMBER_INVALID). Handlers throw RegistryError; the API layer renders the envelope.
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: "Blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "Blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "Blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "Provided digest did not match uploaded content" },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "Manifest references a blob or manifest unknown to this repository" },
  MANIFEST_INVALID: { status: 400, message: "Manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "Manifest unknown" },
  NAME_INVALID: { status: 400, message: "Invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "Repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "Provided length did not match content length" },
  UNAUTHORIZED: { status: 401, message: "Authentication required" },
  DENIED: { status: 403, message: "Requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "The operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "Too many requests" },
  RANGE_INVALID: { status: 416, message: "Invalid content range" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "Invalid number of results requested" },
  NOT_FOUND: { status: 404, message: "No such endpoint" },
  UNKNOWN: { status: 500, message: "Unknown error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RegistryErrorOptions {
  message?: string;
  detail?: unknown;
  /** overrides the code's status where the spec asks for another (e.g. 413 for a too-large manifest) */
  status?: number;
  headers?: Record<string, string>;
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: RegistryErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].message);
    this.name = "RegistryError";
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.detail = options.detail ?? null;
    this.headers = options.headers ?? {};
  }
}

/** The spec's JSON envelope. HEAD responses carry no body. */
export function errorResponse(error: RegistryError, method: string): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8", ...error.headers };
  const body = JSON.stringify({ errors: [{ code: error.code, message: error.message, detail: error.detail }] });
  if (method === "HEAD") {
    headers["Content-Length"] = String(Buffer.byteLength(body));
    return new Response(null, { status: error.status, headers });
  }
  return new Response(body, { status: error.status, headers });
}
