/**
 * Replays a recorded docker push (bench/patterns/docker-push.json) from raw sockets: the same
 * flows with the same dependencies (so the layers go up concurrently, the config after them,
 * then the manifest), each request on a new connection with the recorded headers (dockerd
 * sends Connection: close), each PATCH body chunked with the recorded chunk sizes in order and
 * each chunk frame cut into the recorded writes. The bytes are new for every push (see
 * content.ts); digests are computed as the bytes are sent. Timings are not replayed: every
 * request goes as soon as the one before it is answered.
 */
import type { ByteSource, PushedBlob } from "./content.ts";
import { FixedSource, imageConfig, imageManifest, PoolSource } from "./content.ts";
import type { DockerPushPattern, Flow, FrameWrites, HttpStep } from "./pattern.ts";
import { expandSizes } from "./pattern.ts";
import { RawConnection } from "./rawconn.ts";

export interface ReplayTarget {
  hostname: string;
  port: number;
  repo: string;
  tag: string;
}

export interface ReplayOptions {
  /** random bytes the layers are cut from (content.ts randomPool) */
  pool: Buffer;
  /** cut each layer body to at most this many bytes (quick runs); null: as recorded */
  maxLayerBytes: number | null;
  /** per request */
  timeoutMs: number;
}

export interface ReplayResult {
  /** blob and manifest bytes sent (decoded body bytes) */
  bytes: number;
  requests: number;
}

/** One write of a chunk frame: how many bytes of the size line, of the data and of the closing CRLF. */
export interface FramePiece {
  head: number;
  data: number;
  tail: number;
}

/** How a frame carrying `size` data bytes is cut into writes, as `writes` says. */
export function framePieces(size: number, writes: FrameWrites): FramePiece[] {
  const head = size.toString(16).length + 2;
  const length = head + size + 2;
  const cuts = new Set<number>();
  for (const offset of writes.fromStart) if (offset > 0 && offset < length) cuts.add(offset);
  for (const offset of writes.fromEnd) if (offset > 0 && offset < length) cuts.add(length - offset);
  const edges = [0, ...[...cuts].sort((a, b) => a - b), length];
  const overlap = (from: number, to: number, start: number, end: number) => Math.max(0, Math.min(to, end) - Math.max(from, start));
  return edges.slice(1).map((to, i) => {
    const from = edges[i] ?? 0;
    return { head: overlap(from, to, 0, head), data: overlap(from, to, head, head + size), tail: overlap(from, to, head + size, length) };
  });
}

/** The chunk sizes of a body, cut to `max` bytes in total when given. */
export function chunkPlan(sizes: readonly number[], max: number | null): number[] {
  if (max === null) return [...sizes];
  const out: number[] = [];
  let total = 0;
  for (const size of sizes) {
    if (total >= max) break;
    out.push(Math.min(size, max - total));
    total += out.at(-1) ?? 0;
  }
  return out;
}

const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");
const PIECE = 64 * 1024;
/** how long a TLS probe waits for the registry to answer or close (dockerd then falls back to HTTP) */
const TLS_PROBE_WAIT_MS = 5000;

/** What one flow has learnt so far: its bytes, the blob's digest, the upload's location. */
interface FlowState {
  source: ByteSource | null;
  digest: string | null;
  location: string | null;
  /** body bytes sent */
  sent: number;
}

interface Shared {
  pattern: DockerPushPattern;
  target: ReplayTarget;
  options: ReplayOptions;
  /** what each blob flow pushed, by flow index */
  blobs: Map<number, PushedBlob>;
  result: ReplayResult;
}

async function sendChunked(conn: RawConnection, sizes: readonly number[], source: ByteSource, writes: FrameWrites): Promise<number> {
  let sent = 0;
  for (const size of sizes) {
    const line = Buffer.from(`${size.toString(16)}\r\n`, "latin1");
    let lineAt = 0;
    let tailAt = 0;
    for (const piece of framePieces(size, writes)) {
      const data = piece.data > 0 ? source.take(piece.data) : null;
      if (piece.head === 0 && piece.tail === 0 && data) await conn.write(data);
      else {
        const parts: Uint8Array[] = [line.subarray(lineAt, lineAt + piece.head)];
        if (data) parts.push(data);
        parts.push(CRLF.subarray(tailAt, tailAt + piece.tail));
        await conn.write(Buffer.concat(parts));
      }
      lineAt += piece.head;
      tailAt += piece.tail;
      sent += piece.data;
    }
  }
  await conn.write(LAST_CHUNK);
  return sent;
}

function resolvePath(shape: string, shared: Shared, digest: string | null, location: string | null): string {
  const { repo, tag } = shared.target;
  if (shape.includes("<uuid>")) {
    if (!location) throw new Error(`${shape}: no upload location to send it to`);
    if (!/[?&]digest=<digest>/.test(shape)) return location;
    if (!digest) throw new Error(`${shape}: digest unknown`);
    return `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
  }
  if (shape.includes("<digest>") && !digest) throw new Error(`${shape}: digest unknown`);
  return shape.replaceAll("<name>", repo).replaceAll("<tag>", tag).replaceAll("<digest>", digest ?? "");
}

function requestHead(step: HttpStep, path: string, host: string, contentLength: number | null): Buffer {
  const lines = [`${step.method} ${path} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(step.headers)) {
    if (name === "content-length") lines.push(`content-length: ${contentLength ?? value}`);
    else lines.push(`${name}: ${value}`);
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

/** The body a blob flow sends, or the manifest naming every blob pushed before it. */
function bodyFor(flow: Flow, index: number, step: HttpStep, shared: Shared, source: ByteSource | null): { sizes: number[]; source: ByteSource } | null {
  const body = step.body;
  if (!body) return null;
  if (flow.role === "manifest") {
    const blobs = [...shared.blobs].sort((a, b) => a[0] - b[0]);
    const config = blobs.find(([i]) => shared.pattern.flows[i]?.role === "config")?.[1];
    if (!config) throw new Error(`flow ${index}: the manifest has no config to name`);
    const layers = blobs.filter(([i]) => shared.pattern.flows[i]?.role === "layer").map(([, blob]) => blob);
    const bytes = imageManifest(step.headers["content-type"] ?? "", config, layers);
    return { sizes: [bytes.length], source: new FixedSource(bytes) };
  }
  if (!source) throw new Error(`flow ${index}: a body outside a blob upload`);
  const recorded = body.chunks ? expandSizes(body.chunks) : [body.bytes];
  return { sizes: chunkPlan(recorded, flow.role === "layer" ? shared.options.maxLayerBytes : null), source };
}

async function runStep(flow: Flow, index: number, step: HttpStep, shared: Shared, state: FlowState): Promise<void> {
  const { hostname, port } = shared.target;
  const path = resolvePath(step.path, shared, state.digest, state.location);
  const body = bodyFor(flow, index, step, shared, state.source);
  const chunked = body !== null && step.body?.chunked === true;
  const length = body && !chunked ? body.sizes.reduce((a, b) => a + b, 0) : null;
  const conn = await RawConnection.open(hostname, port);
  try {
    const head = requestHead(step, path, `${hostname}:${port}`, length);
    if (body && chunked) {
      await conn.write(head);
      state.sent += await sendChunked(conn, body.sizes, body.source, shared.pattern.chunkWrites);
    } else if (body && length !== null) {
      // a small body goes out with its head, as a buffered client writes it
      const first = body.source.take(Math.min(length, PIECE));
      await conn.write(Buffer.concat([head, first]));
      for (let at = first.length; at < length; at += PIECE) await conn.write(body.source.take(Math.min(PIECE, length - at)));
      state.sent += length;
    } else await conn.write(head);
    const res = await conn.response(step.method, shared.options.timeoutMs);
    shared.result.requests++;
    if (res.status !== step.status) {
      throw new Error(`${step.method} ${path}: HTTP ${res.status}, recorded ${step.status}: ${res.body.toString("utf8", 0, 300)}`);
    }
    const location = res.headers.get("location");
    if (location) {
      const url = new URL(location, `http://${hostname}:${port}`);
      state.location = `${url.pathname}${url.search}`;
    }
    if (body && flow.role !== "manifest") state.digest = body.source.digest();
    if (body) shared.result.bytes += body.sizes.reduce((a, b) => a + b, 0);
  } finally {
    conn.close();
  }
}

async function runFlow(flow: Flow, index: number, shared: Shared): Promise<void> {
  const state: FlowState = { source: null, digest: null, location: null, sent: 0 };
  const bodyStep = flow.steps.find((s): s is HttpStep => s.kind === "http" && s.body !== undefined);
  if (flow.role === "layer") state.source = new PoolSource(shared.options.pool);
  if (flow.role === "config") {
    const layers = [...shared.blobs].sort((a, b) => a[0] - b[0]).map(([, blob]) => blob);
    state.source = new FixedSource(imageConfig(layers, bodyStep?.body?.bytes ?? 0));
  }
  // a flow that looks for its blob before uploading it needs the digest up front
  const firstBody = bodyStep ? flow.steps.indexOf(bodyStep) : flow.steps.length;
  const early = flow.steps.slice(0, firstBody).some((s) => s.kind === "http" && s.path.includes("<digest>"));
  if (early && state.source && bodyStep) {
    const plan = bodyFor(flow, index, bodyStep, shared, state.source.replica());
    for (const size of plan?.sizes ?? []) plan?.source.take(size);
    state.digest = plan?.source.digest() ?? null;
  }
  for (const step of flow.steps) {
    if (step.kind === "tls-probe") {
      const conn = await RawConnection.open(shared.target.hostname, shared.target.port);
      try {
        await conn.write(Buffer.from(step.clientHello, "base64"));
        await conn.anything(Math.min(shared.options.timeoutMs, TLS_PROBE_WAIT_MS));
      } finally {
        conn.close();
      }
      shared.result.requests++;
      continue;
    }
    await runStep(flow, index, step, shared, state);
  }
  if (state.digest && (flow.role === "layer" || flow.role === "config")) shared.blobs.set(index, { digest: state.digest, size: state.sent });
}

/** Pushes one image as the pattern says; rejects on the first answer that differs from the recording. */
export async function replayPush(pattern: DockerPushPattern, target: ReplayTarget, options: ReplayOptions): Promise<ReplayResult> {
  const shared: Shared = { pattern, target, options, blobs: new Map(), result: { bytes: 0, requests: 0 } };
  const done: Promise<void>[] = [];
  pattern.flows.forEach((flow, i) => {
    done[i] = Promise.all(flow.after.map((j) => done[j])).then(() => runFlow(flow, i, shared));
  });
  await Promise.all(done);
  return shared.result;
}
