/**
 * The registry's error codes, as the OCI distribution spec names them (plus Distribution's
 * RANGE_INVALID and PAGINATION_NUMBER_INVALID), each with its default message. They belong to
 * the domain: the grammar here, the registry's rules and the hooks throw them, and know nothing
 * of HTTP. src/api/errors.ts alone maps a code to a status and headers.
 */
export const ERROR_MESSAGES = {
  BLOB_UNKNOWN: "Blob unknown to registry",
  BLOB_UPLOAD_INVALID: "Blob upload invalid",
  BLOB_UPLOAD_UNKNOWN: "Blob upload unknown to registry",
  DIGEST_INVALID: "Provided digest did not match uploaded content",
  MANIFEST_BLOB_UNKNOWN: "Manifest references a blob or manifest unknown to this repository",
  MANIFEST_INVALID: "Manifest invalid",
  MANIFEST_UNKNOWN: "Manifest unknown",
  NAME_INVALID: "Invalid repository name",
  NAME_UNKNOWN: "Repository name not known to registry",
  SIZE_INVALID: "Provided length did not match content length",
  UNAUTHORIZED: "Authentication required",
  DENIED: "Requested access to the resource is denied",
  UNSUPPORTED: "The operation is unsupported",
  TOOMANYREQUESTS: "Too many requests",
  RANGE_INVALID: "Invalid content range",
  PAGINATION_NUMBER_INVALID: "Invalid number of results requested",
  NOT_FOUND: "No such endpoint",
  UNKNOWN: "Unknown error",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_MESSAGES;

export interface RegistryErrorOptions {
  message?: string;
  /** what the client gets in the envelope's `detail` */
  detail?: unknown;
}

/** A failure the client caused or may act on, named by the spec's code. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;

  constructor(code: ErrorCode, options: RegistryErrorOptions = {}) {
    super(options.message ?? ERROR_MESSAGES[code]);
    this.name = "RegistryError";
    this.code = code;
    this.detail = options.detail ?? null;
  }
}
