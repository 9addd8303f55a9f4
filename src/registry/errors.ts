/**
 * Errors of the registry's rules that carry data the client needs to go on. The API layer
 * turns the data into headers (src/api/errors.ts); the registry never speaks HTTP.
 */
import { RegistryError } from "../oci/errors.ts";

export { type ErrorCode, ERROR_MESSAGES, RegistryError, type RegistryErrorOptions } from "../oci/errors.ts";

/** A chunk that does not start where the upload is; nothing was written. */
export class UploadOffsetMismatch extends RegistryError {
  constructor(
    readonly repository: string,
    readonly uploadId: string,
    /** bytes the upload holds: the client resumes here */
    readonly offset: number,
    chunkStart: number,
  ) {
    super("RANGE_INVALID", { message: `Chunk starts at ${chunkStart} but the upload has ${offset} bytes` });
  }
}

/** The message every refused change carries while the registry is read-only. */
export const READ_ONLY_MESSAGE = "the registry is read-only for maintenance";

/** A change refused because the registry is read-only for maintenance (the API answers 503 UNSUPPORTED). */
export class ReadOnlyMaintenance extends RegistryError {
  constructor() {
    super("UNSUPPORTED", { message: READ_ONLY_MESSAGE });
    this.name = "ReadOnlyMaintenance";
  }
}
