/**
 * The pull-through cache over HTTP against real upstreams (Distribution 2.8.2, one with htpasswd
 * auth): prefixes, single flight, ttl revalidation, a down upstream, 405 for pushes, and a
 * corrupting upstream whose blob is refused and not stored.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, startBerth, tempDir } from "../helpers/server.ts";
import { accessLines, pushSmallImage, pushTwoPlatformIndex, sha256, startUpstream, type Upstream } from "../helpers/upstream.ts";

const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

let hub: Upstream;
let other: Upstream;
let berth: BerthProcess;
let dir: string;

async function manifestOf(name: string, reference: string): Promise<Response> {
  return fetch(`${berth.url}/v2/${name}/manifests/${reference}`, { headers: { Accept: ACCEPT } });
}

/** What a client does to pull an image: the manifest, then every blob it names (bytes checked). */
async function pullThrough(name: string, reference: string): Promise<string[]> {
  const response = await manifestOf(name, reference);
  expect(response.status).toBe(200);
  const manifest = (await response.json()) as { config: { digest: string }; layers: { digest: string }[] };
  const digests = [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)];
  await Promise.all(
    digests.map(async (digest) => {
      const blob = await fetch(`${berth.url}/v2/${name}/blobs/${digest}`);
      expect(blob.status).toBe(200);
      expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(digest);
    }),
  );
  return digests;
}

beforeAll(async () => {
  hub = await startUpstream({ user: "mirror", password: "mirror-pw" });
  other = await startUpstream();
  dir = tempDir("berth-proxy-");
  const config = join(dir, "registry.toml");
  writeFileSync(
    config,
    [
      "[[proxy]]",
      'prefix = "hub"',
      `url = "${hub.url}"`,
      'username = "mirror"',
      'password = "mirror-pw"',
      'ttl = "1h"',
      "",
      "[[proxy]]",
      'prefix = "hub/short"',
      `url = "${hub.url}"`,
      'username = "mirror"',
      'password = "mirror-pw"',
      'ttl = "1s"',
      "",
      "[[proxy]]",
      'prefix = "other"',
      `url = "${other.url}"`,
      'timeout = "3s"',
      "",
    ].join("\n"),
  );
  berth = await startBerth({ args: ["serve", "--config", config] });
}, 60_000);

afterAll(async () => {
  await berth?.stop();
  await hub?.stop();
  await other?.stop();
  if (dir) removeDir(dir);
});

describe("pull-through cache", () => {
  test("an image behind htpasswd auth is pulled through its prefix, each blob fetched upstream once for 20 concurrent pulls", async () => {
    const image = await pushSmallImage(hub.url, hub.creds, "team/app", "v1", 3);
    const pulls = await Promise.all(Array.from({ length: 20 }, () => pullThrough("hub/team/app", "v1")));
    for (const digests of pulls) expect(digests).toEqual(image.blobs);
    for (const digest of image.blobs) expect(accessLines(hub.output(), "GET", `/team/app/blobs/${digest}`)).toHaveLength(1);
    expect(accessLines(hub.output(), "GET", "/team/app/manifests/v1")).toHaveLength(1);
    // by digest, the same bytes, from the cache
    const byDigest = await manifestOf("hub/team/app", image.digest);
    expect(byDigest.status).toBe(200);
    expect(sha256(new Uint8Array(await byDigest.arrayBuffer()))).toBe(image.digest);
  }, 60_000);

  test("within ttl a repeated pull asks nothing upstream; after it, one HEAD and no GET", async () => {
    await pushSmallImage(hub.url, hub.creds, "short/app", "v1", 1);
    await pullThrough("hub/short/short/app", "v1");
    const gets = () => accessLines(hub.output(), "GET", "/short/app/manifests/v1").length;
    const heads = () => accessLines(hub.output(), "HEAD", "/short/app/manifests/v1").length;
    expect(gets()).toBe(1);
    // the manifest is stored in the background: wait until storage serves it (no upstream request either way)
    await pullThrough("hub/short/short/app", "v1");
    expect(gets()).toBe(1);
    expect(heads()).toBe(0);
    await Bun.sleep(1500);
    await pullThrough("hub/short/short/app", "v1");
    expect(heads()).toBe(1);
    expect(gets()).toBe(1);
  }, 60_000);

  test("a two-platform index is stored whole with its children", async () => {
    const index = await pushTwoPlatformIndex(hub.url, hub.creds, "multi", "v1");
    const response = await manifestOf("hub/multi", "v1");
    expect(response.headers.get("docker-content-digest")).toBe(index.digest);
    for (const child of index.children) {
      const got = await manifestOf("hub/multi", child.digest);
      expect(got.status).toBe(200);
      for (const blob of child.blobs) expect((await fetch(`${berth.url}/v2/hub/multi/blobs/${blob}`)).status).toBe(200);
    }
  }, 60_000);

  test("pushes and deletes under a proxied prefix answer 405 UNSUPPORTED naming the upstream", async () => {
    const upload = await fetch(`${berth.url}/v2/hub/team/app/blobs/uploads/`, { method: "POST" });
    expect(upload.status).toBe(405);
    const body = (await upload.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe("UNSUPPORTED");
    expect(body.errors[0]?.message).toContain(hub.url);
    const remove = await fetch(`${berth.url}/v2/hub/team/app/manifests/v1`, { method: "DELETE" });
    expect(remove.status).toBe(405);
    // a name outside every prefix is an ordinary local repository
    expect((await fetch(`${berth.url}/v2/local/app/blobs/uploads/`, { method: "POST" })).status).toBe(202);
  });

  test("with the upstream stopped, cached tags and digests are served and a cold miss is 502 naming it", async () => {
    const image = await pushSmallImage(other.url, null, "tools/cli", "v1", 2);
    await pushSmallImage(other.url, null, "tools/never", "v1", 1);
    await pullThrough("other/tools/cli", "v1");
    await waitStored("other/tools/cli", image.digest);
    await other.stop();
    const byTag = await pullThrough("other/tools/cli", "v1");
    expect(byTag).toEqual(image.blobs);
    expect((await manifestOf("other/tools/cli", image.digest)).status).toBe(200);
    const miss = await manifestOf("other/tools/never", "v1");
    expect(miss.status).toBe(502);
    expect(await miss.text()).toContain(other.url);
  }, 60_000);
});

/** The background store is done when the repository lists the tag (storage, not the pending copy). */
async function waitStored(name: string, digest: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const tags = await fetch(`${berth.url}/v2/${name}/tags/list`);
    if (tags.status === 200) {
      const revision = join(berth.root, "docker/registry/v2/repositories", name, "_manifests/revisions/sha256", digest.slice(7), "link");
      if (existsSync(revision)) return;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${name}@${digest} was not stored`);
}
