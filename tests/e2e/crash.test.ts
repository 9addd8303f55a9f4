/**
 * Crash safety: Berth killed with SIGKILL in the middle of work, then restarted on the same root.
 * A killed process must never leave a visible blob that is wrong, must not lose what it already
 * acknowledged, and must not damage what was stored before.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { removeDir, startBerth, tempDir, withServerLog, type BerthProcess } from "../helpers/server.ts";

const MiB = 1024 * 1024;
const BIG_SIZE = 300 * MiB;
/** the client has handed this much to the socket when Berth is killed */
const KILL_AFTER = 96 * MiB;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

type Bytes = Uint8Array<ArrayBuffer>;

function sha256(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

function hexOf(digest: string): string {
  return digest.slice("sha256:".length);
}

function v2(root: string): string {
  return join(root, "docker/registry/v2");
}

/** Deterministic 300 MiB of content, one fresh 1 MiB chunk at a time (never all in memory). */
const seed = crypto.getRandomValues(new Uint8Array(64 * 1024));
function bigChunk(index: number): Bytes {
  const chunk = new Uint8Array(MiB);
  for (let offset = 0; offset < MiB; offset += seed.length) chunk.set(seed, offset);
  new DataView(chunk.buffer).setUint32(0, index);
  return chunk;
}

function bigDigest(): string {
  const hasher = new Bun.CryptoHasher("sha256");
  for (let i = 0; i < BIG_SIZE / MiB; i++) hasher.update(bigChunk(i));
  return `sha256:${hasher.digest("hex")}`;
}

async function startUpload(url: string, name: string): Promise<URL> {
  const res = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: "POST" });
  expect(res.status).toBe(202);
  const location = res.headers.get("location");
  if (!location) throw new Error("POST blobs/uploads/ answered without Location");
  return new URL(location, url);
}

async function uploadBlob(url: string, name: string, bytes: Bytes): Promise<string> {
  const digest = sha256(bytes);
  const location = await startUpload(url, name);
  location.searchParams.set("digest", digest);
  const res = await fetch(location, {
    method: "PUT",
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (res.status !== 201) throw new Error(`PUT ${location} answered ${res.status}: ${await res.text()}`);
  expect(res.headers.get("docker-content-digest")).toBe(digest);
  return digest;
}

interface PushedImage {
  name: string;
  tag: string;
  manifest: Bytes;
  digest: string;
  blobs: string[];
}

/** Pushes a tiny one-layer OCI image through the HTTP API. */
async function pushSmallImage(url: string, name: string, tag: string, text: string): Promise<PushedImage> {
  const layer: Bytes = new Uint8Array(Bun.gzipSync(new TextEncoder().encode(text)));
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }),
  );
  const layerDigest = await uploadBlob(url, name, layer);
  const configDigest = await uploadBlob(url, name, config);
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  const res = await fetch(`${url}/v2/${name}/manifests/${tag}`, {
    method: "PUT",
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  if (res.status !== 201) throw new Error(`PUT manifest ${name}:${tag} answered ${res.status}: ${await res.text()}`);
  const digest = sha256(manifest);
  expect(res.headers.get("docker-content-digest")).toBe(digest);
  return { name, tag, manifest, digest, blobs: [configDigest, layerDigest] };
}

/** GETs the manifest by tag and by digest and every blob, checking bytes against digests. */
async function expectImageIntact(url: string, image: PushedImage): Promise<void> {
  for (const reference of [image.tag, image.digest]) {
    const res = await fetch(`${url}/v2/${image.name}/manifests/${reference}`, { headers: { Accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-content-digest")).toBe(image.digest);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(image.manifest);
  }
  for (const blob of image.blobs) {
    const res = await fetch(`${url}/v2/${image.name}/blobs/${blob}`);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(blob);
  }
}

/**
 * Every file under docker/registry/v2/blobs must be a `data` file at blobs/sha256/<2 hex>/<hex>/data
 * whose content hashes to <hex>: no temp file, no partial blob, nothing visible that is wrong.
 */
function expectBlobStoreClean(root: string): void {
  const blobs = join(v2(root), "blobs");
  if (!existsSync(blobs)) return;
  const problems: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      const rel = relative(blobs, path);
      const match = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{64})\/data$/.exec(rel);
      if (!match?.[1] || !match[2] || !match[2].startsWith(match[1])) {
        problems.push(`unexpected file blobs/${rel} (${statSync(path).size} bytes)`);
        continue;
      }
      const actual = hexOf(sha256(new Uint8Array(readFileSync(path))));
      if (actual !== match[2]) problems.push(`blobs/${rel} holds content with digest sha256:${actual}`);
    }
  };
  walk(blobs);
  expect(problems).toEqual([]);
}

/**
 * Streams BIG_SIZE bytes as the body of `method location`, and kills Berth once KILL_AFTER bytes
 * were handed to the connection. Returns how the request ended and how many bytes were under
 * `uploads` (the request's upload sessions) just before the kill.
 */
async function streamAndKill(
  berth: BerthProcess,
  method: "PUT" | "PATCH",
  location: URL,
  uploads: string,
): Promise<{ outcome: string; sent: number; storedAtKill: number }> {
  let sent = 0;
  let killed = false;
  let storedAtKill = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= BIG_SIZE) {
        controller.close();
        return;
      }
      if (sent >= KILL_AFTER && !killed) {
        killed = true;
        storedAtKill = bytesUnder(uploads);
        await berth.kill9();
      }
      controller.enqueue(bigChunk(sent / MiB));
      sent += MiB;
    },
  });
  let outcome: string;
  try {
    const res = await fetch(location, {
      method,
      body,
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(BIG_SIZE) },
      signal: AbortSignal.timeout(60_000),
    });
    outcome = `HTTP ${res.status} ${await res.text()}`;
  } catch (error) {
    outcome = `error: ${String(error)}`;
  }
  if (!killed) await berth.kill9();
  return { outcome, sent, storedAtKill };
}

/** Total size of the files under `dir` (what a server has written there so far). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    try {
      total += statSync(join(entry.parentPath, entry.name)).size;
    } catch {
      // renamed or removed while we looked (a temp file): not counted
    }
  }
  return total;
}

describe("Berth killed with SIGKILL", () => {
  let berth: BerthProcess | undefined;
  let root = "";
  let earlier: PushedImage | undefined;
  let big = "";
  /** output of every Berth process of this file (the killed ones too), for failure messages */
  const processes: BerthProcess[] = [];
  const logs = () => processes.slice(-2);
  /** a test whose failure message carries the tail of the output of the last Berth processes */
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(logs, body));

  beforeAll(
    withServerLog(logs, async () => {
      root = tempDir("berth-crash-");
      berth = await startBerth({ root });
      processes.push(berth);
      earlier = await pushSmallImage(berth.url, "crash/earlier", "v1", `earlier image ${Date.now()}`);
      big = bigDigest();
    }),
  );

  afterAll(async () => {
    if (berth) await berth.stop();
    if (root) removeDir(root);
  });

  async function restart(): Promise<BerthProcess> {
    berth = await startBerth({ root });
    processes.push(berth);
    return berth;
  }

  function running(): BerthProcess {
    if (!berth || !earlier) throw new Error("beforeAll did not finish");
    return berth;
  }

  async function expectBigBlobAbsent(b: BerthProcess, name: string): Promise<void> {
    const head = await fetch(`${b.url}/v2/${name}/blobs/${big}`, { method: "HEAD" });
    expect(head.status).toBe(404);
    const get = await fetch(`${b.url}/v2/${name}/blobs/${big}`);
    expect(get.status).toBe(404);
    await get.arrayBuffer();
    const hex = hexOf(big);
    expect(existsSync(join(v2(root), "blobs/sha256", hex.slice(0, 2), hex))).toBe(false);
    expect(existsSync(join(v2(root), "repositories", name, "_layers/sha256", hex))).toBe(false);
    expectBlobStoreClean(root);
  }

  test.each([
    ["monolithic PUT", "PUT", "crash/monolithic"],
    ["streamed PATCH", "PATCH", "crash/chunked"],
  ] as const)("kill -9 during a 300 MiB %s leaves no blob for its digest and keeps the earlier image", (_kind, method, name) =>
    withServerLog(logs, async () => {
      const before = running();
      const location = await startUpload(before.url, name);
      if (method === "PUT") location.searchParams.set("digest", big);
      const { outcome, sent, storedAtKill } = await streamAndKill(before, method, location, join(v2(root), "repositories", name, "_uploads"));
      expect(outcome).toStartWith("error:");
      expect(sent).toBeLessThan(BIG_SIZE);
      // Killed in the middle: a good part of this request's body had reached its upload session.
      expect(storedAtKill).toBeGreaterThan(16 * MiB);

      const after = await restart();
      await expectBigBlobAbsent(after, name);
      if (earlier) await expectImageIntact(after.url, earlier);
    })(),
  );

  logged("a blob and a manifest acknowledged just before kill -9 are served after restart", async () => {
    const before = running();
    const image = await pushSmallImage(before.url, "crash/acknowledged", "latest", `acknowledged ${Date.now()}`);
    await before.kill9();

    const after = await restart();
    await expectImageIntact(after.url, image);
    const link = join(v2(root), "repositories/crash/acknowledged/_manifests/tags/latest/current/link");
    expect(readFileSync(link, "utf8")).toBe(image.digest);
    if (earlier) await expectImageIntact(after.url, earlier);
    expectBlobStoreClean(root);
  });
});
