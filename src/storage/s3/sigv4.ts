/**
 * AWS Signature Version 4 for the few S3 requests Bun.S3Client does not make (multipart uploads
 * driven part by part, server-side copies, listing multipart uploads, creating a bucket):
 * headers signed, the payload's SHA-256 or UNSIGNED-PAYLOAD.
 */
import { createHash, createHmac } from "node:crypto";

export interface Credentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** RFC 3986 percent-encoding, as SigV4 wants it ("/" kept in paths when `keepSlash`). */
export function uriEncode(value: string, keepSlash: boolean): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(char) || (keepSlash && char === "/")) out += char;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** "20260101T120000Z" */
function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * The headers to send with a request: the caller's, plus host, x-amz-date,
 * x-amz-content-sha256 and Authorization. `path` is already encoded (uriEncode(.., true));
 * `query` holds raw names and values.
 */
export function signRequest(
  credentials: Credentials,
  request: { method: string; host: string; path: string; query: Record<string, string>; headers: Record<string, string>; payloadHash: string },
  now = new Date(),
): Record<string, string> {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value.trim();
  headers.host = request.host;
  headers["x-amz-date"] = date;
  headers["x-amz-content-sha256"] = request.payloadHash;
  const names = Object.keys(headers).sort();
  const canonicalQuery = Object.entries(request.query)
    .map(([name, value]) => [uriEncode(name, false), uriEncode(value, false)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const canonical = [
    request.method,
    request.path,
    canonicalQuery,
    names.map((name) => `${name}:${headers[name]}\n`).join(""),
    names.join(";"),
    request.payloadHash,
  ].join("\n");
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, sha256Hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretKey}`, day), credentials.region), "s3"), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return headers;
}
