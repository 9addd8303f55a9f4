/**
 * Reads a small request body (a manifest, a token form) into memory, refusing more than
 * `limit` bytes as soon as they are exceeded, never after buffering them.
 */
import { HttpError } from "./errors.ts";

export async function readLimitedBody(
  request: Request,
  limit: number,
  what = "Manifest is larger than the limit of LIMIT bytes (limits.max_manifest_bytes)",
): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError("SIZE_INVALID", { status: 413, message: what.replace("LIMIT", String(limit)) });
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
