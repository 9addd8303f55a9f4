/**
 * Helpers for the API tests: digests, HTTP calls (fetch and a raw socket client for paths that
 * fetch would normalise), blob and manifest pushes, manifest builders and error-envelope checks.
 *
 * Every network call is bounded by a timeout; every loop here is bounded in count.
 */
import { expect } from "bun:test";
import { createHash, randomBytes as cryptoRandomBytes, randomUUID } from "node:crypto";
import { readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import type { BerthProcess } from "./server.ts";
import { localApp } from "./local-apps.ts";

export type Bytes = Uint8Array<ArrayBuffer>;

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
} as const;

/** Accept header listing every manifest type Berth serves. */
export const ACCEPT_ALL_MANIFESTS = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(", ");

/** Error codes from the OCI distribution-spec v1.1 table ("The code field MUST be one of the following"). */
export const SPEC_ERROR_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
] as const;

/** The repository-name grammar of distribution-spec v1.1. */
export const NAME_REGEX = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** The tag grammar of distribution-spec v1.1. */
export const TAG_REGEX = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

// ---------------------------------------------------------------------------------------------
// bytes and digests

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function utf8(text: string): Bytes {
  return new Uint8Array(encoder.encode(text));
}

export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function randomBytes(size: number): Bytes {
  const out = new Uint8Array(size);
  // randomBytes is fine for the sizes the tests use (at most a few MiB)
  out.set(cryptoRandomBytes(size));
  return out;
}

export function concat(...parts: Uint8Array[]): Bytes {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash("sha512").update(data).digest("hex")}`;
}

/** hex part of a digest */
export function hexOf(digest: string): string {
  const i = digest.indexOf(":");
  return i < 0 ? digest : digest.slice(i + 1);
}

/** A syntactically valid digest of content that is never pushed. */
export function absentDigest(): string {
  return sha256(`absent-${randomUUID()}`);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Resp {
  /** "METHOD path" of the request, for failure messages */
  req: string;
  status: number;
  headers: Headers;
  body: Bytes;
  text: string;
}

export interface CallInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Bytes | string | ReadableStream<Uint8Array>;
  timeoutMs?: number;
}

/**
 * One HTTP request with fetch; the body is always read completely. `pathOrUrl` is a path
 * (resolved against `base`) or an absolute URL (e.g. a Location header).
 */
export async function call(base: string, pathOrUrl: string, init: CallInit = {}): Promise<Resp> {
  const url = new URL(pathOrUrl, base);
  const method = init.method ?? "GET";
  const requestInit: RequestInit = {
    method,
    headers: init.headers ?? {},
    redirect: "manual",
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  };
  if (init.body !== undefined) requestInit.body = init.body;
  const local = localApp(url);
  const res = local ? await local(new Request(url, requestInit)) : await fetch(url, requestInit);
  const body = new Uint8Array(await res.arrayBuffer());
  return { req: `${method} ${url.pathname}${url.search}`, status: res.status, headers: res.headers, body, text: text(body) };
}

/** A compact description of a response for expect() failure messages. */
export function show(res: Resp): string {
  const snippet = res.text.length > 600 ? `${res.text.slice(0, 600)}…` : res.text;
  const headers: string[] = [];
  res.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
  return `${res.req} → ${res.status}\n${headers.join("\n")}\n\n${snippet}`;
}

export function expectStatus(res: Resp, status: number): void {
  expect(res.status, show(res)).toBe(status);
}

export interface ErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses the error envelope, failing the test if the body is not one. */
export function parseErrors(res: Resp): ErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    throw new Error(`expected a JSON error envelope, got:\n${show(res)}`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.errors) || parsed.errors.length === 0) {
    throw new Error(`expected {"errors":[...]} with at least one entry, got:\n${show(res)}`);
  }
  const out: ErrorEntry[] = [];
  for (const e of parsed.errors as unknown[]) {
    if (!isRecord(e) || typeof e.code !== "string") throw new Error(`error entry without a string code:\n${show(res)}`);
    const entry: ErrorEntry = { code: e.code };
    if (e.message !== undefined) {
      if (typeof e.message !== "string") throw new Error(`error message is not a string:\n${show(res)}`);
      entry.message = e.message;
    }
    if ("detail" in e) entry.detail = e.detail;
    out.push(entry);
  }
  return out;
}

/**
 * Asserts the status and that the body is the OCI error envelope whose first code is `code`,
 * with a string message, and every code an upper-case identifier.
 */
export function expectError(res: Resp, status: number, code: string): ErrorEntry {
  expectStatus(res, status);
  const errors = parseErrors(res);
  const first = errors[0];
  if (first === undefined) throw new Error("unreachable: empty errors");
  expect(first.code, show(res)).toBe(code);
  expect(typeof first.message, `error message should be a string\n${show(res)}`).toBe("string");
  for (const e of errors) expect(e.code, show(res)).toMatch(/^[A-Z_]+$/);
  const ct = res.headers.get("content-type") ?? "";
  expect(ct, `error body should be JSON\n${show(res)}`).toMatch(/json/i);
  return first;
}


/** Asserts that Berth did not crash and still answers /v2/. */
/** Berth still answers (and, for a real process, has not exited). */
export async function expectAlive(berth: Pick<BerthProcess, "url" | "output"> & { proc?: BerthProcess["proc"] }): Promise<void> {
  if (berth.proc) expect(berth.proc.exitCode, `Berth exited:\n${berth.output().slice(-4000)}`).toBeNull();
  const res = await call(berth.url, "/v2/", { timeoutMs: 10_000 });
  expect(res.status, show(res)).toBe(200);
}

/** Resolves a Location (absolute, relative, or under a public URL) to a URL on the test server. */
export function localUrl(base: string, location: string | null, publicUrl?: string): URL {
  if (location === null || location === "") throw new Error("missing Location header");
  if (publicUrl !== undefined && location.startsWith(publicUrl)) {
    const rest = location.slice(publicUrl.replace(/\/$/, "").length);
    return new URL(rest, base);
  }
  const url = new URL(location, base);
  const b = new URL(base);
  // an absolute Location naming another host (e.g. a public URL) is mapped onto the test server
  url.protocol = b.protocol;
  url.host = b.host;
  return url;
}

export function withQuery(url: URL, params: Record<string, string>): URL {
  const out = new URL(url.toString());
  for (const [k, v] of Object.entries(params)) out.searchParams.set(k, v);
  return out;
}

/** Parses `Link: <url>; rel="next"`, returning the URL or null when there is no next link. */
export function nextLink(res: Resp): string | null {
  const link = res.headers.get("link");
  if (link === null) return null;
  const m = /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link);
  if (m === null || m[1] === undefined) throw new Error(`unparseable Link header: ${link}`);
  return m[1];
}

// ---------------------------------------------------------------------------------------------
// raw HTTP over a socket (for paths that URL parsing would normalise, and odd methods)

export interface RawInit {
  headers?: Record<string, string>;
  body?: Bytes | string;
  timeoutMs?: number;
}

/**
 * Writes `request` as it is on a fresh connection to 127.0.0.1:`port` and reads until the server
 * closes it (the request should say Connection: close); fails after `timeoutMs`.
 */
export function exchange(port: number, request: Uint8Array | string, timeoutMs = 15_000): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      const start = typeof request === "string" ? request : text(request.subarray(0, 80));
      reject(new Error(`no complete answer to ${JSON.stringify(start.slice(0, 80))} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Sends exactly `method path HTTP/1.1` over TCP and reads the whole response (Connection: close). */
export async function raw(berth: { host: string; port: number }, method: string, path: string, init: RawInit = {}): Promise<Resp> {
  const body = init.body === undefined ? undefined : typeof init.body === "string" ? utf8(init.body) : init.body;
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${berth.host}`, "Connection: close"];
  for (const [k, v] of Object.entries(init.headers ?? {})) lines.push(`${k}: ${v}`);
  const hasLength = Object.keys(init.headers ?? {}).some((k) => k.toLowerCase() === "content-length");
  if (!hasLength && (body !== undefined || ["POST", "PUT", "PATCH"].includes(method))) {
    lines.push(`Content-Length: ${body?.byteLength ?? 0}`);
  }
  const head = utf8(`${lines.join("\r\n")}\r\n\r\n`);
  const data = await exchange(berth.port, body === undefined ? head : concat(head, body), init.timeoutMs);
  const sep = data.indexOf("\r\n\r\n");
  if (sep < 0) throw new Error(`raw ${method} ${path}: malformed response: ${JSON.stringify(data.toString("latin1").slice(0, 300))}`);
  const headLines = data.subarray(0, sep).toString("latin1").split("\r\n");
  const statusLine = headLines.shift() ?? "";
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (m === null || m[1] === undefined) throw new Error(`raw ${method} ${path}: bad status line ${statusLine}`);
  const headers = new Headers();
  for (const line of headLines) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  let rest: Uint8Array = data.subarray(sep + 4);
  if (method === "HEAD") rest = new Uint8Array();
  else if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) rest = dechunk(rest);
  else {
    const len = headers.get("content-length");
    if (len !== null) rest = rest.subarray(0, Number(len));
  }
  const out = new Uint8Array(rest.byteLength);
  out.set(rest);
  return { req: `${method} ${path} (raw)`, status: Number(m[1]), headers, body: out, text: text(out) };
}

function dechunk(input: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (let guard = 0; guard < 100_000 && pos < input.byteLength; guard++) {
    let eol = -1;
    for (let i = pos; i + 1 < input.byteLength; i++) {
      if (input[i] === 13 && input[i + 1] === 10) {
        eol = i;
        break;
      }
    }
    if (eol < 0) break;
    const size = parseInt(text(input.subarray(pos, eol)).split(";")[0] ?? "0", 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(input.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return concat(...parts);
}

// ---------------------------------------------------------------------------------------------
// blobs

export interface PushedBlob {
  digest: string;
  size: number;
  bytes: Bytes;
}

/** Pushes a blob with POST then PUT ?digest= (the flow every registry supports); asserts 202 then 201. */
export async function pushBlob(base: string, repo: string, bytes: Bytes, digest: string = sha256(bytes)): Promise<PushedBlob> {
  const post = await call(base, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expectStatus(post, 202);
  const put = await call(base, withQuery(localUrl(base, post.headers.get("location")), { digest }).toString(), {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes,
  });
  expectStatus(put, 201);
  return { digest, size: bytes.byteLength, bytes };
}

export async function blobExists(base: string, repo: string, digest: string): Promise<number> {
  return (await call(base, `/v2/${repo}/blobs/${digest}`, { method: "HEAD" })).status;
}

/** Starts an upload session; returns the session URL on the test server and the response. */
export async function startUpload(base: string, repo: string): Promise<{ url: URL; res: Resp }> {
  const res = await call(base, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expectStatus(res, 202);
  return { url: localUrl(base, res.headers.get("location")), res };
}

export async function patchChunk(url: URL | string, bytes: Bytes, range?: string): Promise<Resp> {
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
  if (range !== undefined) headers["Content-Range"] = range;
  return call(url.toString(), url.toString(), { method: "PATCH", headers, body: bytes });
}

// ---------------------------------------------------------------------------------------------
// manifests

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export function descriptorOf(mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: sha256(bytes), size: bytes.byteLength, ...extra };
}

export interface ImageManifestInit {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** omit the mediaType field in the JSON */
  omitMediaType?: boolean;
}

export function imageManifestJson(init: ImageManifestInit): Record<string, unknown> {
  const doc: Record<string, unknown> = { schemaVersion: 2 };
  if (init.omitMediaType !== true) doc.mediaType = init.mediaType ?? MT.ociManifest;
  if (init.artifactType !== undefined) doc.artifactType = init.artifactType;
  doc.config = init.config;
  doc.layers = init.layers;
  if (init.subject !== undefined) doc.subject = init.subject;
  if (init.annotations !== undefined) doc.annotations = init.annotations;
  return doc;
}

export interface IndexInit {
  mediaType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function indexJson(init: IndexInit): Record<string, unknown> {
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: init.mediaType ?? MT.ociIndex };
  if (init.artifactType !== undefined) doc.artifactType = init.artifactType;
  doc.manifests = init.manifests;
  if (init.subject !== undefined) doc.subject = init.subject;
  if (init.annotations !== undefined) doc.annotations = init.annotations;
  return doc;
}

/** Serialises with two-space indentation and a trailing newline, so byte-exactness is tested. */
export function serialize(doc: unknown): Bytes {
  return utf8(`${JSON.stringify(doc, null, 2)}\n`);
}

/** Adds an annotation whose value pads the serialised manifest to exactly `size` bytes. */
export function padManifest(doc: Record<string, unknown>, size: number): Bytes {
  const withPad = (pad: string): Bytes => utf8(JSON.stringify({ ...doc, annotations: { "org.example.pad": pad } }));
  const baseLen = withPad("").byteLength;
  const bytes = withPad("x".repeat(Math.max(0, size - baseLen)));
  if (bytes.byteLength !== size) throw new Error(`padding produced ${bytes.byteLength} bytes, wanted ${size}`);
  return bytes;
}

export async function putManifest(base: string, repo: string, reference: string, body: Bytes | string, contentType: string): Promise<Resp> {
  return call(base, `/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": contentType },
    body: typeof body === "string" ? utf8(body) : body,
  });
}

export async function getManifest(base: string, repo: string, reference: string, method: "GET" | "HEAD" = "GET"): Promise<Resp> {
  return call(base, `/v2/${repo}/manifests/${reference}`, { method, headers: { Accept: ACCEPT_ALL_MANIFESTS } });
}

export async function tagsOf(base: string, repo: string): Promise<string[] | null> {
  const res = await call(base, `/v2/${repo}/tags/list`);
  if (res.status !== 200) return null;
  const parsed: unknown = JSON.parse(res.text);
  if (!isRecord(parsed)) throw new Error(`tags/list is not an object: ${res.text}`);
  const tags = parsed.tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) throw new Error(`bad tags: ${res.text}`);
  return tags as string[];
}

export interface PushedImage {
  repo: string;
  mediaType: string;
  bytes: Bytes;
  digest: string;
  size: number;
  config: PushedBlob;
  layers: PushedBlob[];
  descriptor: Descriptor;
  /** the PUT response */
  res: Resp;
}

export interface PushImageOptions {
  /** tag to push by; by digest when omitted */
  tag?: string;
  docker?: boolean;
  layerCount?: number;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  configMediaType?: string;
}

/** Pushes random config and layer blobs and an image manifest referencing them; asserts 201. */
export async function pushImage(base: string, repo: string, options: PushImageOptions = {}): Promise<PushedImage> {
  const docker = options.docker === true;
  const config = await pushBlob(
    base,
    repo,
    utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, nonce: randomUUID() })),
  );
  const layers: PushedBlob[] = [];
  for (let i = 0; i < (options.layerCount ?? 1); i++) layers.push(await pushBlob(base, repo, randomBytes(256 + i)));
  const mediaType = docker ? MT.dockerManifest : MT.ociManifest;
  const init: ImageManifestInit = {
    mediaType,
    config: { mediaType: options.configMediaType ?? (docker ? MT.dockerConfig : MT.ociConfig), digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: docker ? MT.dockerLayer : MT.ociLayer, digest: l.digest, size: l.size })),
  };
  if (options.subject !== undefined) init.subject = options.subject;
  if (options.artifactType !== undefined) init.artifactType = options.artifactType;
  if (options.annotations !== undefined) init.annotations = options.annotations;
  const bytes = serialize(imageManifestJson(init));
  const digest = sha256(bytes);
  const res = await putManifest(base, repo, options.tag ?? digest, bytes, mediaType);
  expectStatus(res, 201);
  return {
    repo,
    mediaType,
    bytes,
    digest,
    size: bytes.byteLength,
    config,
    layers,
    descriptor: { mediaType, digest, size: bytes.byteLength },
    res,
  };
}

export const EMPTY_CONFIG_BYTES: Bytes = utf8("{}");
export const EMPTY_DESCRIPTOR: Descriptor = { mediaType: MT.ociEmpty, digest: sha256(EMPTY_CONFIG_BYTES), size: 2 };

export interface PushedArtifact {
  bytes: Bytes;
  digest: string;
  size: number;
  res: Resp;
  descriptor: Descriptor;
}

/** Pushes an OCI artifact (image manifest with artifactType, empty config, one layer) by digest or tag. */
export async function pushArtifact(
  base: string,
  repo: string,
  options: { subject?: Descriptor; artifactType?: string; annotations?: Record<string, string>; tag?: string; configMediaType?: string },
): Promise<PushedArtifact> {
  await pushBlob(base, repo, EMPTY_CONFIG_BYTES);
  const layer = await pushBlob(base, repo, randomBytes(64));
  const init: ImageManifestInit = {
    config: options.configMediaType === undefined ? EMPTY_DESCRIPTOR : { ...EMPTY_DESCRIPTOR, mediaType: options.configMediaType },
    layers: [{ mediaType: "application/octet-stream", digest: layer.digest, size: layer.size }],
  };
  if (options.subject !== undefined) init.subject = options.subject;
  if (options.artifactType !== undefined) init.artifactType = options.artifactType;
  if (options.annotations !== undefined) init.annotations = options.annotations;
  const bytes = serialize(imageManifestJson(init));
  const digest = sha256(bytes);
  const res = await putManifest(base, repo, options.tag ?? digest, bytes, MT.ociManifest);
  expectStatus(res, 201);
  return { bytes, digest, size: bytes.byteLength, res, descriptor: { mediaType: MT.ociManifest, digest, size: bytes.byteLength } };
}

// ---------------------------------------------------------------------------------------------
// files

/** Every path under `dir` (relative), bounded to `limit` entries; symlinks are not followed. */
export function listTree(dir: string, limit = 200_000): string[] {
  const out: string[] = [];
  const stack: string[] = [""];
  while (stack.length > 0 && out.length < limit) {
    const rel = stack.pop();
    if (rel === undefined) break;
    let entries: string[];
    try {
      entries = readdirSync(join(dir, rel));
    } catch {
      continue;
    }
    for (const name of entries) {
      const child = rel === "" ? name : join(rel, name);
      out.push(child);
      try {
        if (lstatSync(join(dir, child)).isDirectory()) stack.push(child);
      } catch {
        // vanished while walking
      }
    }
  }
  return out.sort();
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
/** Polls `check` every 50 ms until it holds; @throws Error naming `what` after `limitMs`. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(50);
  }
  throw new Error(`never happened within ${limitMs} ms: ${what}`);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await check()) return true;
    await Bun.sleep(intervalMs);
  }
  return check();
}
