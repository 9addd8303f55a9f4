/**
 * The docker push pattern: the recording proxy's HTTP parser, the size summaries, path shapes,
 * the write-split inference, the replayer's framing, and a replay of the committed pattern
 * against the real binary, recorded again through the proxy, which must give the same shape.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomPool } from "../../bench/pattern/content.ts";
import type { DockerPushPattern, HttpStep } from "../../bench/pattern/pattern.ts";
import { expandSizes, loadPattern, parsePattern, pathShape, summarizeSizes } from "../../bench/pattern/pattern.ts";
import { startRecordingProxy } from "../../bench/pattern/proxy.ts";
import { chunkPlan, framePieces, replayPush } from "../../bench/pattern/replay.ts";
import { inferFrameWrites, patternFromExchanges } from "../../bench/pattern/summarize.ts";
import type { WireMessage } from "../../bench/pattern/wire.ts";
import { WireParser } from "../../bench/pattern/wire.ts";
import { PATTERN_PATH } from "../../bench/workloads/push-docker-pattern.ts";
import type { BerthProcess } from "../helpers/server.ts";
import { startBerth } from "../helpers/server.ts";

const GO_WRITES = { fromStart: [4096], fromEnd: [2] };

/** A chunked body as Go's client writes it: per chunk, the size line and data up to 4096 bytes, the rest, the CRLF. */
function goWrites(chunks: readonly number[]): number[] {
  const writes: number[] = [];
  for (const size of chunks) {
    const frame = size.toString(16).length + 2 + size + 2;
    writes.push(Math.min(4096, frame - 2));
    if (frame - 2 > 4096) writes.push(frame - 2 - 4096);
    writes.push(2);
  }
  writes.push(5); // 0\r\n\r\n
  return writes;
}

function chunkedBody(chunks: readonly number[]): Buffer {
  return Buffer.concat(chunks.flatMap((size) => [Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 0x61), Buffer.from("\r\n")]).concat(Buffer.from("0\r\n\r\n")));
}

describe("recording proxy parser", () => {
  test("a chunked PATCH split across reads gives its chunk sizes, body bytes and per-read wire bytes", () => {
    const got: WireMessage[] = [];
    const parser = new WireParser("request", (m) => got.push(m));
    const head = Buffer.from("PATCH /v2/a/blobs/uploads/u1?_state=s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const body = chunkedBody([5000, 5000, 123]);
    const next = Buffer.from("PUT /v2/a/blobs/uploads/u1?digest=sha256:ab HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    const stream = Buffer.concat([head, body, next]);
    // cut anywhere, including inside the head and inside a size line
    const cuts = [10, head.length + 2, head.length + 4100, head.length + 9000, stream.length - next.length - 3, stream.length];
    let at = 0;
    cuts.forEach((cut, i) => {
      parser.push(stream.subarray(at, cut), i);
      at = cut;
    });
    expect(got.map((m) => m.startLine.split(" ")[0])).toEqual(["PATCH", "PUT"]);
    const patch = got[0];
    expect(patch?.chunks).toEqual([5000, 5000, 123]);
    expect(patch?.bodyBytes).toBe(10_123);
    expect(patch?.wireBytes).toBe(body.length);
    expect(patch?.reads.reduce((a, b) => a + b, 0)).toBe(body.length);
    expect(patch?.reads).toHaveLength(5);
    expect(patch?.firstMs).toBe(0);
    expect(got[1]?.bodyBytes).toBe(0);
    expect(parser.idle()).toBe(true);
  });

  test("a response to HEAD has no body whatever its Content-Length says", () => {
    const got: WireMessage[] = [];
    const methods = ["HEAD", "GET"];
    const parser = new WireParser(
      "response",
      (m) => {
        got.push(m);
        methods.shift();
      },
      () => methods[0] ?? "GET",
    );
    parser.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 396\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"), 0);
    expect(got.map((m) => m.bodyBytes)).toEqual([0, 2]);
  });

  test("bytes that are not HTTP/1.x are refused", () => {
    const parser = new WireParser("request", () => undefined);
    expect(() => parser.push(Buffer.from("\x16\x03\x01 junk\r\n\r\n"), 0)).toThrow(TypeError);
  });
});

describe("pattern summaries", () => {
  test("sizes are run-length encoded, and past the run limit the rest goes to a histogram", () => {
    const sizes = [...Array<number>(1526).fill(32_768), 11_531];
    const seq = summarizeSizes(sizes);
    expect(seq).toEqual({ count: 1527, total: 1526 * 32_768 + 11_531, runs: [[32_768, 1526], [11_531, 1]] });
    expect(expandSizes(seq)).toEqual(sizes);
    const varied = [1, 2, 3, 4, 4, 5, 3, 3];
    const capped = summarizeSizes(varied, 2);
    expect(capped.runs).toEqual([[1, 1], [2, 1]]);
    expect(capped.histogram).toEqual([[3, 3], [4, 2], [5, 1]]);
    expect(expandSizes(capped).toSorted()).toEqual(varied.toSorted());
  });

  test("path shapes replace the repository, digests, upload ids and state", () => {
    expect(pathShape("/v2/")).toBe("/v2/");
    expect(pathShape("/v2/bench/image/blobs/uploads/")).toBe("/v2/<name>/blobs/uploads/");
    expect(pathShape("/v2/a/b/c/blobs/uploads/2eb9-71?_state=nwp%3D&digest=sha256%3Aab")).toBe("/v2/<name>/blobs/uploads/<uuid>?_state=<state>&digest=<digest>");
    expect(pathShape("/v2/x/blobs/sha256:f73e98")).toBe("/v2/<name>/blobs/<digest>");
    expect(pathShape("/v2/x/manifests/v1.2")).toBe("/v2/<name>/manifests/<tag>");
    expect(pathShape("/v2/x/blobs/uploads/?mount=sha256:ab&from=y")).toBe("/v2/<name>/blobs/uploads/?mount=<digest>&from=<name>");
  });

  test("write cuts are learnt from reads that recur at the same place in the frames", () => {
    const chunks = [...Array<number>(20).fill(32_768), 11_531];
    const writes = goWrites(chunks);
    // most writes read one by one, every seventh joined to the one before: the cuts still show
    const merged: number[] = [];
    writes.forEach((w, i) => merged.push(i % 7 === 0 && i > 0 ? (merged.pop() ?? 0) + w : w));
    expect(merged.reduce((a, b) => a + b, 0)).toBe(chunkedBody(chunks).length);
    expect(inferFrameWrites([{ reads: merged, chunks }])).toEqual(GO_WRITES);
    // reads that always hold whole frames say nothing about the writes
    const whole = chunks.map((size) => size.toString(16).length + 4 + size);
    expect(inferFrameWrites([{ reads: whole, chunks }])).toEqual({ fromStart: [], fromEnd: [] });
  });

  test("the replayer cuts frames as recorded and can cut a body short", () => {
    expect(framePieces(32_768, GO_WRITES)).toEqual([
      { head: 6, data: 4090, tail: 0 },
      { head: 0, data: 28_678, tail: 0 },
      { head: 0, data: 0, tail: 2 },
    ]);
    expect(framePieces(100, GO_WRITES)).toEqual([
      { head: 4, data: 100, tail: 0 },
      { head: 0, data: 0, tail: 2 },
    ]);
    expect(framePieces(100, { fromStart: [], fromEnd: [] })).toEqual([{ head: 4, data: 100, tail: 2 }]);
    expect(chunkPlan([32_768, 32_768, 32_768], 40_000)).toEqual([32_768, 7232]);
    expect(chunkPlan([10, 20], null)).toEqual([10, 20]);
  });

  test("the committed pattern parses, and a damaged one is refused with the field named", () => {
    const pattern = loadPattern(PATTERN_PATH);
    expect(pattern.flows.map((f) => f.role)).toContain("manifest");
    const broken = structuredClone(pattern);
    const first = broken.flows[0];
    if (first) first.after = [3];
    expect(() => parsePattern(broken)).toThrow(/flows\[0\]\.after/);
    expect(() => parsePattern({ ...pattern, schema: "x" })).toThrow(TypeError);
  });
});

describe("replay against Berth", () => {
  let berth: BerthProcess;
  beforeAll(async () => {
    berth = await startBerth();
  });
  afterAll(async () => {
    await berth?.stop();
  });

  test("a replayed push recorded again through the proxy has the recorded shape", async () => {
    const pattern: DockerPushPattern = loadPattern(PATTERN_PATH);
    const max = 100_000;
    const t0 = performance.now();
    const proxy = startRecordingProxy(berth.port, () => performance.now() - t0);
    try {
      const target = { hostname: "127.0.0.1", port: proxy.port, repo: "test/pattern", tag: "t1" };
      const result = await replayPush(pattern, target, { pool: randomPool(1 << 20), maxLayerBytes: max, timeoutMs: 30_000 });
      const steps = pattern.flows.flatMap((f) => f.steps);
      expect(result.requests).toBe(steps.length);
      expect(proxy.errors).toEqual([]);
      const again = patternFromExchanges(proxy.exchanges, {
        recordedAt: "",
        docker: "",
        registry: "",
        layers: 0,
        imageBytes: 0,
        pushWallMs: 0,
        connections: proxy.connections(),
        configDigest: "",
      });
      // Berth's upload locations carry no _state (Distribution's do)
      const path = (s: HttpStep) => s.path.replace(/_state=<state>&?/, "").replace(/\?$/, "");
      const shape = (p: DockerPushPattern) =>
        p.flows.map((f) => f.steps.map((s) => (s.kind === "http" ? `${s.method} ${path(s)} ${s.status}` : s.kind)));
      expect(shape(again)).toEqual(shape(pattern));
      expect(again.connections).toBe(steps.length);
      // the chunks arrive as planned: recorded sizes in order, layers cut to `max`
      const patches = (p: DockerPushPattern) => p.flows.flatMap((f) => f.steps.filter((s): s is HttpStep => s.kind === "http" && s.method === "PATCH"));
      patches(pattern).forEach((step, i) => {
        const role = pattern.flows.find((f) => f.steps.includes(step))?.role;
        const planned = chunkPlan(expandSizes(step.body?.chunks ?? { count: 0, total: 0, runs: [] }), role === "layer" ? max : null);
        expect(expandSizes(patches(again)[i]?.body?.chunks ?? { count: 0, total: 0, runs: [] })).toEqual(planned);
      });
    } finally {
      proxy.stop();
    }
    // the manifest names blobs the registry now holds, with the digests the replay computed
    const res = await fetch(`${berth.url}/v2/test/pattern/manifests/t1`, { headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" } });
    expect(res.status).toBe(200);
    const manifest: unknown = await res.json();
    const layers = typeof manifest === "object" && manifest !== null && "layers" in manifest && Array.isArray(manifest.layers) ? manifest.layers : [];
    expect(layers.length).toBe(pattern.flows.filter((f) => f.role === "layer").length);
    for (const layer of layers) {
      const digest = typeof layer === "object" && layer !== null && "digest" in layer ? String(layer.digest) : "";
      const blob = await fetch(`${berth.url}/v2/test/pattern/blobs/${digest}`);
      const bytes = new Uint8Array(await blob.arrayBuffer());
      expect(`sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`).toBe(digest);
    }
  });
});
