/**
 * Turns what the recording proxy saw into the committed pattern: requests grouped into flows
 * (the preamble, one flow per blob upload linked by upload id and digest, the manifest), path
 * shapes and headers with placeholders, chunk sizes run-length encoded, TCP reads summarised,
 * and where dockerd split each chunk frame into writes.
 */
import type { Exchange } from "./proxy.ts";
import type { BodyRecord, DockerPushPattern, Flow, FrameWrites, HttpStep, Run, SizeSeq, Step } from "./pattern.ts";
import { locationShape, PATTERN_SCHEMA, pathShape, summarizeSizes } from "./pattern.ts";
import type { WireMessage } from "./wire.ts";
import { header, methodOf, statusOf } from "./wire.ts";

export interface RecordingMeta {
  recordedAt: string;
  docker: string;
  registry: string;
  layers: number;
  imageBytes: number;
  pushWallMs: number;
  connections: number;
  /** the image config's digest (docker's image id), to tell the config blob from the layers */
  configDigest: string;
}

const REQUEST_HEADERS = ["content-type", "content-length", "transfer-encoding", "content-range", "accept", "accept-encoding", "connection", "expect", "user-agent"];
const RESPONSE_HEADERS = ["content-type", "content-length", "transfer-encoding", "location", "range", "docker-upload-uuid", "docker-content-digest", "connection"];
/** exact TCP read sizes kept before the rest goes into a histogram */
const READS_KEPT = 64;
/** a read boundary at the same place in at least this share of frames marks a write boundary */
const WRITE_CUT_SHARE = 0.1;

const round = (ms: number) => Math.round(ms * 10) / 10;

function keep(message: WireMessage, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = header(message, name);
    if (value === undefined) continue;
    if (name === "location") out[name] = locationShape(value);
    else if (name === "docker-upload-uuid") out[name] = "<uuid>";
    else if (name === "docker-content-digest") out[name] = "<digest>";
    else out[name] = value;
  }
  return out;
}

/** Power-of-two buckets (upper bound) of `sizes`, ascending. */
function buckets(sizes: readonly number[]): Run[] {
  const counts = new Map<number, number>();
  for (const size of sizes) {
    const bucket = 2 ** Math.ceil(Math.log2(Math.max(1, size)));
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => a[0] - b[0]);
}

function readsSummary(reads: readonly number[]): SizeSeq {
  const seq: SizeSeq = { ...summarizeSizes(reads.slice(0, READS_KEPT)), count: reads.length, total: reads.reduce((a, b) => a + b, 0) };
  if (reads.length > READS_KEPT) seq.histogram = buckets(reads.slice(READS_KEPT));
  return seq;
}

function bodyRecord(m: WireMessage, t0: number): BodyRecord | undefined {
  if (m.wireBytes === 0) return undefined;
  const body: BodyRecord = {
    bytes: m.bodyBytes,
    wireBytes: m.wireBytes,
    chunked: m.chunks.length > 0 || /chunked/i.test(header(m, "transfer-encoding") ?? ""),
    reads: readsSummary(m.reads),
    firstByteMs: round(m.bodyFirstMs - t0),
    lastByteMs: round(m.bodyLastMs - t0),
  };
  if (body.chunked) body.chunks = summarizeSizes(m.chunks);
  return body;
}

/** Wire length of one chunk frame: hex size line, CRLF, data, CRLF. */
export function frameLength(size: number): number {
  return size.toString(16).length + 2 + size + 2;
}

/**
 * Where the sender cut chunk frames into writes, from read boundaries inside frames of the
 * most common length: a boundary at the same offset in at least a tenth of them marks a
 * write's edge (reads can join writes but on loopback rarely split one). A cut in a frame's
 * first half is kept as an offset from its start, one in its second half as one from its end,
 * so frames of other lengths (a blob's last chunk) are cut the same way.
 */
export function inferFrameWrites(bodies: ReadonlyArray<{ reads: readonly number[]; chunks: readonly number[] }>): FrameWrites {
  const lengths = new Map<number, number>();
  for (const { chunks } of bodies) for (const size of chunks) lengths.set(frameLength(size), (lengths.get(frameLength(size)) ?? 0) + 1);
  const [modal = 0, frames = 0] = [...lengths].sort((a, b) => b[1] - a[1])[0] ?? [];
  const cuts = new Map<number, number>();
  for (const { reads, chunks } of bodies) {
    let frameStart = 0;
    let frame = 0;
    let boundary = 0;
    for (const read of reads) {
      boundary += read;
      while (frame < chunks.length && frameStart + frameLength(chunks[frame] ?? 0) <= boundary) {
        frameStart += frameLength(chunks[frame] ?? 0);
        frame++;
      }
      const size = chunks[frame];
      if (size === undefined || frameLength(size) !== modal || boundary === frameStart) continue;
      cuts.set(boundary - frameStart, (cuts.get(boundary - frameStart) ?? 0) + 1);
    }
  }
  const writes: FrameWrites = { fromStart: [], fromEnd: [] };
  if (frames < 8) return writes;
  for (const [offset, count] of [...cuts].sort((a, b) => a[0] - b[0])) {
    if (count < WRITE_CUT_SHARE * frames) continue;
    if (offset <= modal / 2) writes.fromStart.push(offset);
    else writes.fromEnd.unshift(modal - offset);
  }
  return writes;
}

/** The repository-relative id of a request: upload uuid, or blob digest, or null. */
function uploadId(path: string): string | null {
  return /\/blobs\/uploads\/([^/?]+)/.exec(path)?.[1] ?? null;
}

function digestParam(path: string): string | null {
  const query = path.split("?", 2)[1] ?? "";
  const raw = /(?:^|&)digest=([^&]+)/.exec(query)?.[1];
  return raw ? decodeURIComponent(raw) : null;
}

interface Building {
  role: Flow["role"];
  steps: Step[];
  startMs: number;
  endMs: number;
  uploads: Set<string>;
  digest: string | null;
}

/** Groups the exchanges into flows and writes the pattern. */
export function patternFromExchanges(exchanges: readonly Exchange[], meta: RecordingMeta): DockerPushPattern {
  const sorted = [...exchanges].sort((a, b) => startOf(a) - startOf(b));
  const t0 = sorted[0] ? startOf(sorted[0]) : 0;
  const flows: Building[] = [];
  const open = (role: Flow["role"], at: number): Building => {
    const flow: Building = { role, steps: [], startMs: at, endMs: at, uploads: new Set(), digest: null };
    flows.push(flow);
    return flow;
  };
  const add = (flow: Building, step: Step) => {
    flow.steps.push(step);
    flow.endMs = Math.max(flow.endMs, step.endMs);
  };
  const byDigest = (digest: string | null) => (digest ? flows.find((f) => f.digest === digest) : undefined);
  let preamble: Building | undefined;
  const bodies: Array<{ reads: number[]; chunks: number[] }> = [];
  for (const ex of sorted) {
    if (ex.kind === "tls") {
      preamble ??= open("preamble", round(ex.startMs - t0));
      add(preamble, { kind: "tls-probe", clientHello: ex.clientHello.toString("base64"), reply: ex.reply.toString("latin1"), startMs: round(ex.startMs - t0), endMs: round(ex.endMs - t0) });
      continue;
    }
    const { request, response } = ex;
    const raw = request.startLine.split(" ")[1] ?? "";
    const step: HttpStep = {
      kind: "http",
      method: methodOf(request),
      path: pathShape(raw),
      headers: keep(request, REQUEST_HEADERS),
      status: statusOf(response),
      responseHeaders: keep(response, RESPONSE_HEADERS),
      startMs: round(request.firstMs - t0),
      endMs: round(response.lastMs - t0),
    };
    const body = bodyRecord(request, t0);
    if (body) step.body = body;
    if (body?.chunked) bodies.push({ reads: request.reads, chunks: request.chunks });
    const upload = uploadId(raw) ?? uploadId(header(response, "location") ?? "");
    const blobDigest = /\/blobs\/([^/?]+:[^/?]+)$/.exec(raw.split("?")[0] ?? "")?.[1] ?? null;
    let flow: Building | undefined;
    if (step.path.includes("/manifests/")) flow = open("manifest", step.startMs);
    else if (step.path.startsWith("/v2/<name>/blobs/uploads/") && step.method === "POST") flow = open("layer", step.startMs);
    else if (upload) flow = flows.find((f) => f.uploads.has(upload));
    else if (blobDigest) flow = byDigest(blobDigest) ?? Object.assign(open("layer", step.startMs), { digest: blobDigest });
    else flow = preamble ??= open("preamble", step.startMs);
    if (!flow) throw new Error(`${step.method} ${raw}: no upload started it`);
    add(flow, step);
    if (upload) flow.uploads.add(upload);
    const digest = digestParam(raw);
    if (digest) {
      // a HEAD that looked for this blob before its upload began belongs to the same flow
      const earlier = flows.find((f) => f !== flow && f.digest === digest);
      if (earlier) {
        flow.steps.unshift(...earlier.steps);
        flow.startMs = Math.min(flow.startMs, earlier.startMs);
        flows.splice(flows.indexOf(earlier), 1);
      }
      flow.digest = digest;
    }
  }
  for (const flow of flows) if (flow.digest === meta.configDigest) flow.role = "config";
  flows.sort((a, b) => a.startMs - b.startMs);
  return {
    schema: PATTERN_SCHEMA,
    recordedAt: meta.recordedAt,
    docker: meta.docker,
    registry: meta.registry,
    image: { layers: meta.layers, uncompressedBytes: meta.imageBytes },
    pushWallMs: round(meta.pushWallMs),
    connections: meta.connections,
    chunkWrites: inferFrameWrites(bodies),
    flows: flows.map((f) => ({
      role: f.role,
      after: flows.flatMap((g, j) => (g !== f && g.endMs <= f.startMs ? [j] : [])),
      steps: f.steps,
    })),
  };
}

function startOf(ex: Exchange): number {
  return ex.kind === "tls" ? ex.startMs : ex.request.firstMs;
}
