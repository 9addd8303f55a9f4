/**
 * An upstream that flips a byte of a blob: Berth refuses it (the client's download breaks off
 * before its end), stores nothing, and asks again next time.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, startBerth, tempDir } from "../helpers/server.ts";
import { sha256 } from "../helpers/upstream.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const layer = crypto.getRandomValues(new Uint8Array(64 * 1024));
const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const manifest = new TextEncoder().encode(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
  }),
);
let blobRequests = 0;

/** Speaks just enough of the registry protocol; the layer comes back with one byte flipped. */
const upstream = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/v2/" || path === "/v2") return new Response("{}");
    if (path.endsWith("/manifests/v1") || path.endsWith(`/manifests/${sha256(manifest)}`)) {
      return new Response(request.method === "HEAD" ? null : manifest, { headers: { "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": sha256(manifest) } });
    }
    if (path.endsWith(`/blobs/${sha256(config)}`)) return new Response(config);
    if (path.endsWith(`/blobs/${sha256(layer)}`)) {
      blobRequests++;
      const corrupt = new Uint8Array(layer);
      corrupt[1000] = (corrupt[1000] ?? 0) ^ 0xff;
      return new Response(corrupt, { headers: { "Content-Length": String(corrupt.length) } });
    }
    return new Response('{"errors":[{"code":"NOT_FOUND"}]}', { status: 404 });
  },
});

let berth: BerthProcess;
let dir: string;

beforeAll(async () => {
  dir = tempDir("berth-proxy-corrupt-");
  const file = join(dir, "registry.toml");
  writeFileSync(file, `[[proxy]]\nprefix = "bad"\nurl = "http://127.0.0.1:${upstream.port}"\n`);
  berth = await startBerth({ args: ["serve", "--config", file] });
});

afterAll(async () => {
  await berth?.stop();
  upstream.stop(true);
  if (dir) removeDir(dir);
});

test("a blob whose bytes do not match its digest is refused and not stored", async () => {
  expect((await fetch(`${berth.url}/v2/bad/app/manifests/v1`)).status).toBe(200);
  // the manifest's background store tries the layer too, and gives up
  for (let i = 0; i < 100 && !berth.output().includes("could not be cached"); i++) await Bun.sleep(100);
  expect(berth.output()).toContain("could not be cached");
  for (let attempt = 1; attempt <= 2; attempt++) {
    // nothing was kept, so the upstream is asked again (once the last try has settled)
    const before = blobRequests;
    for (let i = 0; i < 50 && blobRequests === before; i++) {
      const response = await fetch(`${berth.url}/v2/bad/app/blobs/${sha256(layer)}`);
      // a 200 stream that breaks off, or an error: never the whole (wrong) blob
      const received = await response.arrayBuffer().then((bytes) => new Uint8Array(bytes), () => null);
      if (received !== null) expect(received.length).toBeLessThan(layer.length);
      if (blobRequests === before) await Bun.sleep(50);
    }
    expect(blobRequests).toBe(before + 1);
  }
  const data = join(berth.root, "docker/registry/v2/blobs/sha256", sha256(layer).slice(7, 9), sha256(layer).slice(7), "data");
  expect(existsSync(data)).toBe(false);
  expect(berth.output()).toContain("digest does not match");
  // the config blob, which is right, is stored
  expect((await fetch(`${berth.url}/v2/bad/app/blobs/${sha256(config)}`)).status).toBe(200);
}, 60_000);
