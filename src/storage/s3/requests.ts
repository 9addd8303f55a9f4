/**
 * The S3 requests Bun.S3Client does not offer, signed here (sigv4.ts): multipart uploads part
 * by part (so a part can be a server-side copy), CopyObject, ListMultipartUploads, CreateBucket.
 * XML answers are small and fixed in shape: the fields needed are read with patterns.
 */
import { type Credentials, sha256Hex, signRequest, UNSIGNED_PAYLOAD, uriEncode } from "./sigv4.ts";
import type { S3Settings } from "./settings.ts";

/** An S3 error answer: its code ("NoSuchKey", ...) and HTTP status. */
export class S3RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    what: string,
  ) {
    super(`S3 ${what} failed: ${status} ${code}`);
    this.name = "S3RequestError";
  }
}

export interface CompletedPart {
  number: number;
  etag: string;
}

const EMPTY_SHA256 = sha256Hex("");

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[name] ?? "");
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Every value of <tag> in `xml`, unescaped. */
export function xmlValues(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => unescapeXml(m[1] ?? ""));
}

export class S3Requests {
  private readonly credentials: Credentials;
  private readonly url: URL;

  constructor(private readonly settings: S3Settings) {
    this.credentials = { accessKey: settings.accessKey, secretKey: settings.secretKey, region: settings.region };
    this.url = new URL(settings.endpoint);
  }

  /** One signed request on `key` ("" = the bucket); throws S3RequestError unless 2xx. */
  async send(what: string, method: string, key: string, options: { query?: Record<string, string>; headers?: Record<string, string>; body?: Uint8Array<ArrayBuffer> | string } = {}): Promise<Response> {
    const { pathStyle, bucket } = this.settings;
    const encodedKey = uriEncode(key, true);
    const path = pathStyle ? `/${bucket}${key === "" ? "" : `/${encodedKey}`}` : `/${encodedKey}`;
    const host = pathStyle ? this.url.host : `${bucket}.${this.url.host}`;
    const query = options.query ?? {};
    const body = options.body;
    const payloadHash = body === undefined ? EMPTY_SHA256 : typeof body === "string" ? sha256Hex(body) : UNSIGNED_PAYLOAD;
    const headers = signRequest(this.credentials, { method, host, path, query, headers: options.headers ?? {}, payloadHash });
    const search = Object.entries(query)
      .map(([name, value]) => (value === "" ? uriEncode(name, false) : `${uriEncode(name, false)}=${uriEncode(value, false)}`))
      .join("&");
    const response = await fetch(`${this.url.protocol}//${host}${path}${search ? `?${search}` : ""}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    if (!response.ok) {
      const text = await response.text();
      throw new S3RequestError(response.status, xmlValues(text, "Code")[0] ?? response.statusText, what);
    }
    return response;
  }

  /** A 200 answer may still carry an error (CopyObject, CompleteMultipartUpload): S3 says so. */
  private async xml(what: string, response: Response): Promise<string> {
    const text = await response.text();
    if (/<Error>/.test(text)) throw new S3RequestError(response.status, xmlValues(text, "Code")[0] ?? "InternalError", what);
    return text;
  }

  async createBucket(): Promise<void> {
    await this.send("CreateBucket", "PUT", "");
  }

  async copyObject(from: string, to: string): Promise<void> {
    const response = await this.send("CopyObject", "PUT", to, { headers: { "x-amz-copy-source": this.copySource(from) } });
    await this.xml("CopyObject", response);
  }

  async createMultipartUpload(key: string): Promise<string> {
    const text = await this.xml("CreateMultipartUpload", await this.send("CreateMultipartUpload", "POST", key, { query: { uploads: "" } }));
    const id = xmlValues(text, "UploadId")[0];
    if (!id) throw new S3RequestError(200, "NoUploadId", "CreateMultipartUpload");
    return id;
  }

  async uploadPart(key: string, uploadId: string, number: number, body: Uint8Array<ArrayBuffer>): Promise<CompletedPart> {
    const response = await this.send("UploadPart", "PUT", key, { query: { partNumber: String(number), uploadId }, body });
    await response.arrayBuffer();
    return { number, etag: response.headers.get("etag") ?? "" };
  }

  /** A part copied on the server from bytes [start, end] (inclusive) of `from`. */
  async uploadPartCopy(key: string, uploadId: string, number: number, from: string, start: number, end: number): Promise<CompletedPart> {
    const headers = { "x-amz-copy-source": this.copySource(from), "x-amz-copy-source-range": `bytes=${start}-${end}` };
    const text = await this.xml("UploadPartCopy", await this.send("UploadPartCopy", "PUT", key, { query: { partNumber: String(number), uploadId }, headers }));
    return { number, etag: xmlValues(text, "ETag")[0] ?? "" };
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    const body = `<CompleteMultipartUpload>${parts
      .map((part) => `<Part><PartNumber>${part.number}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`)
      .join("")}</CompleteMultipartUpload>`;
    await this.xml("CompleteMultipartUpload", await this.send("CompleteMultipartUpload", "POST", key, { query: { uploadId }, body }));
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await (await this.send("AbortMultipartUpload", "DELETE", key, { query: { uploadId } })).arrayBuffer();
  }

  /** Multipart uploads in progress below `prefix` (every page). */
  async listMultipartUploads(prefix: string): Promise<Array<{ key: string; uploadId: string }>> {
    const found: Array<{ key: string; uploadId: string }> = [];
    let markers: Record<string, string> = {};
    for (let page = 0; page < 10_000; page++) {
      const text = await this.xml("ListMultipartUploads", await this.send("ListMultipartUploads", "GET", "", { query: { uploads: "", prefix, ...markers } }));
      for (const upload of text.split("<Upload>").slice(1)) {
        const key = xmlValues(upload, "Key")[0];
        const uploadId = xmlValues(upload, "UploadId")[0];
        if (key !== undefined && uploadId !== undefined) found.push({ key, uploadId });
      }
      const nextKey = xmlValues(text, "NextKeyMarker")[0];
      if (xmlValues(text, "IsTruncated")[0] !== "true" || !nextKey) break;
      markers = { "key-marker": nextKey, "upload-id-marker": xmlValues(text, "NextUploadIdMarker")[0] ?? "" };
    }
    return found;
  }

  private copySource(key: string): string {
    return `/${this.settings.bucket}/${uriEncode(key, true)}`;
  }
}
