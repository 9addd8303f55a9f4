/** Single byte-range requests (RFC 9110) and upload Content-Range values. */
import type { ContentRange } from "../registry/registry.ts";
import { RegistryError } from "../oci/errors.ts";

export type ByteRange = { start: number; end: number } | "unsatisfiable" | null;

/**
 * Reads a `Range: bytes=a-b | a- | -n` header for a resource of `size` bytes.
 * Returns null when the header is absent or not a single range we honour (the whole
 * resource is then served, as RFC 9110 allows), "unsatisfiable" for 416.
 */
export function parseByteRange(header: string | null, size: number): ByteRange {
  if (header === null) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || (last !== "" && Number(last) < start)) return "unsatisfiable";
  return { start, end };
}

/**
 * Reads an upload chunk's `Content-Range: <start>-<end>` (Docker's form; "bytes " and a
 * "/total" suffix are tolerated).
 * @throws RegistryError RANGE_INVALID when present but malformed
 */
export function parseContentRange(header: string | null): ContentRange | null {
  if (header === null || header.trim() === "") return null;
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (!match || end < start) {
    throw new RegistryError("RANGE_INVALID", {
      message: `Cannot parse Content-Range "${header.slice(0, 80)}": expected "<start>-<end>"`,
    });
  }
  return { start, end };
}
