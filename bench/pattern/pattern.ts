/**
 * The recorded docker push pattern (bench/patterns/docker-push.json): its shape, how sizes are
 * summarised (run-length encoded, or an exact prefix plus a histogram when there are too many
 * runs), path shapes with placeholders, and a validating loader (the file is parsed JSON).
 */
import { readFileSync } from "node:fs";

export const PATTERN_SCHEMA = "berth-docker-push-pattern/1";

/** [size, how many times in a row] */
export type Run = [number, number];

/**
 * A sequence of sizes: `runs` is the whole sequence run-length encoded; when that would be too
 * long, `runs` holds an exact prefix and `histogram` ([size, count]) the rest, whose order is lost.
 */
export interface SizeSeq {
  count: number;
  total: number;
  runs: Run[];
  histogram?: Run[];
}

/** Where a sender split each chunk frame (size line, data, CRLF) into writes, learnt from the reads. */
export interface FrameWrites {
  /** cuts at these offsets from the start of a frame */
  fromStart: number[];
  /** cuts at these offsets before the end of a frame */
  fromEnd: number[];
}

export interface BodyRecord {
  bytes: number;
  /** bytes on the wire, chunk framing included */
  wireBytes: number;
  chunked: boolean;
  /** data size of each chunk, in order (chunked only) */
  chunks?: SizeSeq;
  /** body bytes per TCP read as the proxy saw them: `runs` is the first reads, `histogram` power-of-two buckets (upper bound) */
  reads: SizeSeq;
  firstByteMs: number;
  lastByteMs: number;
}

export interface HttpStep {
  kind: "http";
  method: string;
  /** path shape: /v2/<name>/blobs/uploads/<uuid>?_state=<state>&digest=<digest> */
  path: string;
  /** request headers that matter, names lower-cased, values with placeholders */
  headers: Record<string, string>;
  status: number;
  responseHeaders: Record<string, string>;
  startMs: number;
  endMs: number;
  body?: BodyRecord;
}

/** dockerd first tries TLS on a registry it may reach insecurely; the first bytes it sent. */
export interface TlsProbeStep {
  kind: "tls-probe";
  /** base64 of the client's first read (its ClientHello) */
  clientHello: string;
  /** the first bytes the registry answered (latin1), or "" if it closed */
  reply: string;
  startMs: number;
  endMs: number;
}

export type Step = HttpStep | TlsProbeStep;

/** A run of requests that depend on each other (one blob's upload, or the manifest), in order. */
export interface Flow {
  role: "preamble" | "layer" | "config" | "manifest";
  /** indexes of flows that had finished before this one started */
  after: number[];
  steps: Step[];
}

export interface DockerPushPattern {
  schema: typeof PATTERN_SCHEMA;
  recordedAt: string;
  docker: string;
  registry: string;
  image: { layers: number; uncompressedBytes: number };
  pushWallMs: number;
  /** TCP connections dockerd opened (one per request when it sends Connection: close) */
  connections: number;
  chunkWrites: FrameWrites;
  flows: Flow[];
}

/** Run-length encodes `sizes`; past `maxRuns` runs the rest goes into a histogram. */
export function summarizeSizes(sizes: readonly number[], maxRuns = 2000): SizeSeq {
  const runs: Run[] = [];
  const rest = new Map<number, number>();
  for (const size of sizes) {
    const last = runs.at(-1);
    if (rest.size > 0 || (runs.length >= maxRuns && last?.[0] !== size)) rest.set(size, (rest.get(size) ?? 0) + 1);
    else if (last && last[0] === size) last[1]++;
    else runs.push([size, 1]);
  }
  const seq: SizeSeq = { count: sizes.length, total: sizes.reduce((a, b) => a + b, 0), runs };
  if (rest.size > 0) seq.histogram = [...rest].sort((a, b) => a[0] - b[0]);
  return seq;
}

/** The sizes back in order; histogram sizes follow the exact prefix, spread round-robin. */
export function expandSizes(seq: SizeSeq): number[] {
  const out: number[] = [];
  for (const [size, count] of seq.runs) for (let i = 0; i < count; i++) out.push(size);
  const left = (seq.histogram ?? []).map(([size, count]): Run => [size, count]);
  while (left.some(([, count]) => count > 0)) {
    for (const entry of left) {
      if (entry[1] > 0) {
        out.push(entry[0]);
        entry[1]--;
      }
    }
  }
  return out;
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A path (and query) with the repository, digests, upload ids and state replaced by placeholders. */
export function pathShape(pathAndQuery: string): string {
  const [path = "", query] = pathAndQuery.split("?", 2);
  const m = /^\/v2\/(.+)\/(blobs\/uploads|blobs|manifests|tags)(?:\/(.*))?$/.exec(path);
  let shape = path;
  if (m) {
    const [, , kind, rest] = m;
    let tail = "";
    if (rest !== undefined) {
      if (kind === "blobs/uploads") tail = rest === "" ? "/" : "/<uuid>";
      else if (kind === "tags") tail = `/${rest}`;
      else tail = DIGEST.test(rest) ? "/<digest>" : "/<tag>";
    }
    shape = `/v2/<name>/${kind}${tail}`;
  }
  if (query === undefined) return shape;
  const params = query.split("&").map((pair) => {
    const key = pair.split("=", 1)[0] ?? "";
    const placeholder = { digest: "<digest>", mount: "<digest>", _state: "<state>", from: "<name>" }[key] ?? "<value>";
    return `${key}=${placeholder}`;
  });
  return `${shape}?${params.join("&")}`;
}

/** A Location header's shape: scheme and authority kept as <origin>, the path shaped. */
export function locationShape(location: string): string {
  const m = /^(https?:\/\/[^/]+)?(\/.*)$/.exec(location);
  if (!m) return "<value>";
  return `${m[1] ? "<origin>" : ""}${pathShape(m[2] ?? "")}`;
}

// --- validation of the parsed JSON file ---

type Json = unknown;

function fail(where: string, what: string): never {
  throw new TypeError(`Docker push pattern: ${where} is not ${what}`);
}

function obj(v: Json, where: string): Record<string, Json> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(where, "an object");
  return Object.fromEntries(Object.entries(v));
}

function num(v: Json, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(where, "a number");
  return v;
}

function str(v: Json, where: string): string {
  if (typeof v !== "string") fail(where, "a string");
  return v;
}

function arr(v: Json, where: string): Json[] {
  if (!Array.isArray(v)) fail(where, "an array");
  return v;
}

function strings(v: Json, where: string): Record<string, string> {
  const o = obj(v, where);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, str(x, `${where}.${k}`)]));
}

function runs(v: Json, where: string): Run[] {
  return arr(v, where).map((r, i) => {
    const pair = arr(r, `${where}[${i}]`);
    return [num(pair[0], `${where}[${i}][0]`), num(pair[1], `${where}[${i}][1]`)];
  });
}

function sizeSeq(v: Json, where: string): SizeSeq {
  const o = obj(v, where);
  const seq: SizeSeq = { count: num(o.count, `${where}.count`), total: num(o.total, `${where}.total`), runs: runs(o.runs, `${where}.runs`) };
  if (o.histogram !== undefined) seq.histogram = runs(o.histogram, `${where}.histogram`);
  return seq;
}

function body(v: Json, where: string): BodyRecord {
  const o = obj(v, where);
  const b: BodyRecord = {
    bytes: num(o.bytes, `${where}.bytes`),
    wireBytes: num(o.wireBytes, `${where}.wireBytes`),
    chunked: o.chunked === true,
    reads: sizeSeq(o.reads, `${where}.reads`),
    firstByteMs: num(o.firstByteMs, `${where}.firstByteMs`),
    lastByteMs: num(o.lastByteMs, `${where}.lastByteMs`),
  };
  if (o.chunks !== undefined) b.chunks = sizeSeq(o.chunks, `${where}.chunks`);
  if (b.chunked && !b.chunks) fail(where, "a chunked body with its chunks");
  return b;
}

function step(v: Json, where: string): Step {
  const o = obj(v, where);
  const times = { startMs: num(o.startMs, `${where}.startMs`), endMs: num(o.endMs, `${where}.endMs`) };
  if (o.kind === "tls-probe") return { kind: "tls-probe", clientHello: str(o.clientHello, `${where}.clientHello`), reply: str(o.reply, `${where}.reply`), ...times };
  if (o.kind !== "http") fail(`${where}.kind`, '"http" or "tls-probe"');
  const s: HttpStep = {
    kind: "http",
    method: str(o.method, `${where}.method`),
    path: str(o.path, `${where}.path`),
    headers: strings(o.headers, `${where}.headers`),
    status: num(o.status, `${where}.status`),
    responseHeaders: strings(o.responseHeaders, `${where}.responseHeaders`),
    ...times,
  };
  if (o.body !== undefined) s.body = body(o.body, `${where}.body`);
  return s;
}

const ROLES: readonly Flow["role"][] = ["preamble", "layer", "config", "manifest"];

function flow(v: Json, where: string): Flow {
  const o = obj(v, where);
  const role = ROLES.find((r) => r === o.role) ?? fail(`${where}.role`, ROLES.join(" or "));
  return {
    role,
    after: arr(o.after, `${where}.after`).map((x, i) => num(x, `${where}.after[${i}]`)),
    steps: arr(o.steps, `${where}.steps`).map((s, i) => step(s, `${where}.steps[${i}]`)),
  };
}

/** Checks a parsed pattern file; throws a TypeError naming the first field that is wrong. */
export function parsePattern(v: Json): DockerPushPattern {
  const o = obj(v, "the file");
  if (o.schema !== PATTERN_SCHEMA) fail("schema", `"${PATTERN_SCHEMA}"`);
  const image = obj(o.image, "image");
  const writes = obj(o.chunkWrites, "chunkWrites");
  const flows = arr(o.flows, "flows").map((f, i) => flow(f, `flows[${i}]`));
  flows.forEach((f, i) => {
    if (f.after.some((a) => !Number.isInteger(a) || a < 0 || a >= i)) fail(`flows[${i}].after`, "a list of earlier flows");
  });
  return {
    schema: PATTERN_SCHEMA,
    recordedAt: str(o.recordedAt, "recordedAt"),
    docker: str(o.docker, "docker"),
    registry: str(o.registry, "registry"),
    image: { layers: num(image.layers, "image.layers"), uncompressedBytes: num(image.uncompressedBytes, "image.uncompressedBytes") },
    pushWallMs: num(o.pushWallMs, "pushWallMs"),
    connections: num(o.connections, "connections"),
    chunkWrites: {
      fromStart: arr(writes.fromStart, "chunkWrites.fromStart").map((x, i) => num(x, `chunkWrites.fromStart[${i}]`)),
      fromEnd: arr(writes.fromEnd, "chunkWrites.fromEnd").map((x, i) => num(x, `chunkWrites.fromEnd[${i}]`)),
    },
    flows,
  };
}

export function loadPattern(path: string): DockerPushPattern {
  return parsePattern(JSON.parse(readFileSync(path, "utf8")));
}
