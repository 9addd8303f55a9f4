/**
 * Replication to a Distribution 2.8.2 and to a second Berth, both down while images are pushed
 * and the source killed with -9 meanwhile: once they are up, everything arrives with identical
 * digests (an image, a two-platform index with its children, a referrer with its subject), and
 * a deleted tag is deleted there too (deletes = true).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, startBerth, tempDir } from "../../helpers/server.ts";
import { freePort, pushManifest, pushSmallImage, pushTwoPlatformIndex, startUpstream, type Upstream } from "../../helpers/upstream.ts";

const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
let dir: string;
let root: string;
let source: BerthProcess | undefined;
let distribution: Upstream | undefined;
let standby: BerthProcess | undefined;
const distributionPort = freePort();
const standbyPort = freePort();
let config: string;

async function digestAt(url: string, name: string, reference: string): Promise<string | null> {
  const response = await fetch(`${url}/v2/${name}/manifests/${reference}`, { method: "HEAD", headers: { Accept: ACCEPT } });
  return response.ok ? response.headers.get("docker-content-digest") : null;
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await Bun.sleep(200);
  }
  throw new Error(`never happened: ${what}\n${source?.output().slice(-3000)}`);
}

beforeAll(() => {
  dir = tempDir("berth-replication-");
  root = join(dir, "root");
  mkdirSync(root);
  config = join(dir, "registry.toml");
  writeFileSync(
    config,
    [
      "[[replication]]",
      'name = "distribution"',
      `url = "http://127.0.0.1:${distributionPort}"`,
      "deletes = true",
      'max_backoff = "1s"',
      "",
      "[[replication]]",
      'name = "standby"',
      `url = "http://127.0.0.1:${standbyPort}"`,
      'repositories = ["app/**"]',
      "deletes = true",
      'max_backoff = "1s"',
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await source?.stop();
  await distribution?.stop();
  await standby?.stop();
  if (dir) removeDir(dir);
});

test("pushes made while the targets are down, and a kill -9, all arrive once they are up; a deleted tag follows", async () => {
  source = await startBerth({ root, args: ["serve", "--config", config] });
  const image = await pushSmallImage(source.url, null, "app/one", "v1", 3);
  const index = await pushTwoPlatformIndex(source.url, null, "app/multi", "v1");
  const signature = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.signature",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 },
      layers: [{ mediaType: "application/vnd.oci.empty.v1+json", digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 }],
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: image.digest, size: image.bytes.length },
    }),
  );
  const empty = await fetch(`${source.url}/v2/app/one/blobs/uploads/?digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a`, { method: "POST", body: "{}" });
  expect(empty.status).toBe(201);
  const signatureDigest = await pushManifest(source.url, null, "app/one", new Bun.CryptoHasher("sha256").update(signature).digest("hex").replace(/^/, "sha256:"), signature, "application/vnd.oci.image.manifest.v1+json");

  // the targets are down: the rules say so
  await eventually("a failing rule", async () => {
    const body = (await (await fetch(`${source?.url}/api/v1/replication`)).json()) as { rules: { name: string; state: string; last_error: string | null }[] };
    return body.rules.every((rule) => rule.state === "retrying" && rule.last_error !== null);
  });

  await source.kill9();
  await source.stop();
  source = await startBerth({ root, args: ["serve", "--config", config] });
  distribution = await startUpstream({ port: distributionPort });
  standby = await startBerth({ port: standbyPort });

  for (const target of [distribution.url, standby.url]) {
    await eventually(`app/one:v1 at ${target}`, async () => (await digestAt(target, "app/one", "v1")) === image.digest);
    await eventually(`app/multi:v1 at ${target}`, async () => (await digestAt(target, "app/multi", "v1")) === index.digest);
    for (const child of index.children) expect(await digestAt(target, "app/multi", child.digest)).toBe(child.digest);
    for (const blob of image.blobs) expect((await fetch(`${target}/v2/app/one/blobs/${blob}`, { method: "HEAD" })).status).toBe(200);
    await eventually(`the signature at ${target}`, async () => (await digestAt(target, "app/one", signatureDigest)) === signatureDigest);
  }

  await eventually("rules in sync", async () => {
    const body = (await (await fetch(`${source?.url}/api/v1/replication`)).json()) as { rules: { state: string; pending: number; last_success_at: string | null }[] };
    return body.rules.every((rule) => rule.state === "in_sync" && rule.pending === 0 && rule.last_success_at !== null);
  });

  expect((await fetch(`${source.url}/v2/app/multi/manifests/v1`, { method: "DELETE" })).status).toBe(202);
  for (const target of [distribution.url, standby.url]) {
    await eventually(`app/multi:v1 deleted at ${target}`, async () => (await digestAt(target, "app/multi", "v1")) === null);
  }
  // the other image is untouched
  expect(await digestAt(distribution.url, "app/one", "v1")).toBe(image.digest);
}, 120_000);
