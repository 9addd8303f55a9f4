/**
 * Docker's token flow upstream (as Docker Hub answers): 401 with a Bearer challenge, a token
 * from the realm for the repository's pull scope (basic credentials sent there), then the
 * request again with the token.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, startBerth, tempDir } from "../helpers/server.ts";
import { sha256 } from "../helpers/upstream.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const manifest = new TextEncoder().encode(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length }, layers: [] }),
);
const scopes: string[] = [];
const TOKEN = "upstream-token-1";

const upstream = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request): Response {
    const url = new URL(request.url);
    if (url.pathname === "/token") {
      if (request.headers.get("authorization") !== `Basic ${Buffer.from("robot:pw").toString("base64")}`) return new Response("", { status: 401 });
      scopes.push(`${url.searchParams.get("service")} ${url.searchParams.get("scope")}`);
      return Response.json({ token: TOKEN, expires_in: 300 });
    }
    if (request.headers.get("authorization") !== `Bearer ${TOKEN}`) {
      return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', {
        status: 401,
        headers: { "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${upstream.port}/token",service="fake-hub",scope="repository:library/app:pull"` },
      });
    }
    if (url.pathname === "/v2/library/app/manifests/v1") return new Response(manifest, { headers: { "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": sha256(manifest) } });
    if (url.pathname === `/v2/library/app/blobs/${sha256(config)}`) return new Response(config);
    return new Response("{}", { status: 404 });
  },
});

let berth: BerthProcess;
let dir: string;
beforeAll(async () => {
  dir = tempDir("berth-proxy-token-");
  const file = join(dir, "registry.toml");
  writeFileSync(file, `[[proxy]]\nprefix = "hub"\nurl = "http://127.0.0.1:${upstream.port}"\nusername = "robot"\npassword = "pw"\n`);
  berth = await startBerth({ args: ["serve", "--config", file] });
});
afterAll(async () => {
  await berth?.stop();
  upstream.stop(true);
  if (dir) removeDir(dir);
});

test("a Bearer challenge is answered at the token endpoint with the repository's pull scope", async () => {
  const response = await fetch(`${berth.url}/v2/hub/library/app/manifests/v1`);
  expect(response.status).toBe(200);
  expect(response.headers.get("docker-content-digest")).toBe(sha256(manifest));
  const blob = await fetch(`${berth.url}/v2/hub/library/app/blobs/${sha256(config)}`);
  expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256(config));
  expect(scopes[0]).toBe("fake-hub repository:library/app:pull");
  expect(scopes.length).toBe(1); // the token is kept for its scope
});
