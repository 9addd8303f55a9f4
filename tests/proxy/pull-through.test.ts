/**
 * The pull-through cache over HTTP against real upstreams (Distribution 2.8.2, one with htpasswd
 * auth): prefixes, single flight, ttl revalidation, an index stored without the platforms nobody
 * pulled (fsck and GC content with it), a down upstream, 405 for pushes and deletes, and the
 * cache's series on /metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, runBerth, startBerth, tempDir } from "../helpers/server.ts";
import { accessLines, pushSmallImage, pushTwoPlatformIndex, sha256, startUpstream, type Upstream } from "../helpers/upstream.ts";

const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

let hub: Upstream;
let other: Upstream;
let berth: BerthProcess;
let dir: string;
let config: string;
const METRICS_TOKEN = "proxy-metrics-token";

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
  config = join(dir, "registry.toml");
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
      'ttl = "1s"',
      "",
      "[metrics]",
      `token = "${METRICS_TOKEN}"`,
      "",
      // GC deletes every untagged manifest nothing needs: a pulled child of an index must stay
      "[gc]",
      'untagged = "1ms"',
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

  test("an index is stored alone; a pulled platform stores that child only and the other is never asked upstream; fsck and GC accept it", async () => {
    const index = await pushTwoPlatformIndex(hub.url, hub.creds, "multi", "v1");
    const [amd64, arm64] = index.children;
    if (!amd64 || !arm64) throw new Error("two children expected");
    const response = await manifestOf("hub/multi", "v1");
    expect(response.headers.get("docker-content-digest")).toBe(index.digest);
    await waitStored("hub/multi", index.digest);
    expect(revisionStored("hub/multi", amd64.digest)).toBe(false);
    expect(revisionStored("hub/multi", arm64.digest)).toBe(false);

    // one platform, as docker pulls it: the child by digest, then its blobs
    expect(await pullThrough("hub/multi", amd64.digest)).toEqual(amd64.blobs);
    await waitStored("hub/multi", amd64.digest);
    expect(revisionStored("hub/multi", arm64.digest)).toBe(false);
    for (const blob of arm64.blobs) expect(blobStored(blob)).toBe(false);
    expect(upstreamAsked(`/multi/manifests/${arm64.digest}`)).toEqual([]);
    for (const blob of arm64.blobs) expect(upstreamAsked(`/multi/blobs/${blob}`)).toEqual([]);

    // the read API describes the index from the metadata index, the absent child without a size
    const facts = await fetch(`${berth.url}/api/v1/repositories/hub/multi/manifests/${index.digest}`);
    expect(facts.status).toBe(200);
    const described = (await facts.json()) as { manifests: { digest: string; total_size: number | null }[] };
    expect(described.manifests.find((child) => child.digest === arm64.digest)?.total_size).toBeNull();

    // a backup holds the index and the child that is here (the absent one is no error)
    const backup = await fetch(`${berth.url}/api/v1/backup`);
    expect(backup.status).toBe(200);
    const tar = new TextDecoder("latin1").decode(await backup.arrayBuffer());
    expect(tar).toContain(`hub/multi/_manifests/revisions/sha256/${index.digest.slice(7)}/link`);
    expect(tar).toContain(`hub/multi/_manifests/revisions/sha256/${amd64.digest.slice(7)}/link`);
    expect(tar).not.toContain(`revisions/sha256/${arm64.digest.slice(7)}/link`);
    for (const blob of arm64.blobs) expect(tar).not.toContain(blob.slice(7));

    // berth fsck (beside the server, read-only) finds nothing wrong with the absent child
    const fsck = await runBerth(["fsck", "--config", config], { env: { BERTH_STORAGE_ROOT: berth.root }, timeoutMs: 60_000 });
    expect(fsck.stdout).not.toContain("hub/multi");
    expect(fsck.code).toBe(0);

    // GC (gc.untagged = 1ms): the pulled child is the index's, so it stays; nothing fails
    const gc = await fetch(`${berth.url}/api/v1/gc`, { method: "POST" });
    expect(gc.status).toBe(200);
    const report = (await gc.json()) as { errors: string[]; manifests: { repository: string; digest: string }[] };
    expect(report.errors).toEqual([]);
    expect(report.manifests.filter((manifest) => manifest.repository === "hub/multi")).toEqual([]);
    expect(revisionStored("hub/multi", amd64.digest)).toBe(true);
    expect(await pullThrough("hub/multi", amd64.digest)).toEqual(amd64.blobs);
    expect(accessLines(hub.output(), "GET", `/multi/manifests/${amd64.digest}`)).toHaveLength(1);
  }, 90_000);

  test("pushes and deletes under a proxied prefix answer 405 UNSUPPORTED naming the upstream", async () => {
    const upload = await fetch(`${berth.url}/v2/hub/team/app/blobs/uploads/`, { method: "POST" });
    expect(upload.status).toBe(405);
    const body = (await upload.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe("UNSUPPORTED");
    expect(body.errors[0]?.message).toContain(hub.url);
    const remove = await fetch(`${berth.url}/v2/hub/team/app/manifests/v1`, { method: "DELETE" });
    expect(remove.status).toBe(405);
    const removeRepository = await fetch(`${berth.url}/api/v1/repositories/hub/team/app`, { method: "DELETE" });
    expect(removeRepository.status).toBe(405);
    const refused = (await removeRepository.json()) as { errors: { code: string; message: string }[] };
    expect(refused.errors[0]?.code).toBe("UNSUPPORTED");
    expect(refused.errors[0]?.message).toContain(hub.url);
    expect((await manifestOf("hub/team/app", "v1")).status).toBe(200);
    // outside every prefix the delete is the ordinary one (an unknown name: 404)
    expect((await fetch(`${berth.url}/api/v1/repositories/local/none`, { method: "DELETE" })).status).toBe(404);
    // a name outside every prefix is an ordinary local repository
    expect((await fetch(`${berth.url}/v2/local/app/blobs/uploads/`, { method: "POST" })).status).toBe(202);
  });

  test("hits, misses, requests and bytes fetched move on /metrics under Distribution's names", async () => {
    const before = await metrics();
    for (const name of ["registry_proxy_requests_total", "registry_proxy_hits_total", "registry_proxy_misses_total", "registry_proxy_pulled_bytes_total"]) {
      for (const type of ["manifest", "blob"]) expect(before.has(`${name}{type="${type}"}`)).toBe(true);
    }
    expect(before.has(`berth_proxy_upstream_errors_total{upstream="${hub.url}"}`)).toBe(true);
    expect(before.has("berth_proxy_stale_served_total")).toBe(true);

    const image = await pushSmallImage(hub.url, hub.creds, "metered/app", "v1", 2);
    const blobBytes = await upstreamBlobBytes("metered/app", await pullThrough("hub/metered/app", "v1"));
    await waitStored("hub/metered/app", image.digest);
    await pullThrough("hub/metered/app", "v1"); // within ttl: all from the cache
    const after = await metrics();
    const change = (series: string) => increase(before, after, series);
    expect(change('registry_proxy_requests_total{type="manifest"}')).toBe(2);
    expect(change('registry_proxy_requests_total{type="blob"}')).toBe(6);
    expect(change('registry_proxy_misses_total{type="manifest"}')).toBe(1);
    expect(change('registry_proxy_misses_total{type="blob"}')).toBe(3);
    expect(change('registry_proxy_hits_total{type="manifest"}')).toBe(1);
    // the first pull's blobs are hits too when the manifest's background store fetched them first
    expect(change('registry_proxy_hits_total{type="blob"}')).toBeGreaterThanOrEqual(3);
    expect(change('registry_proxy_pulled_bytes_total{type="manifest"}')).toBe(image.bytes.byteLength);
    expect(change('registry_proxy_pulled_bytes_total{type="blob"}')).toBe(blobBytes);
    expect(change(`berth_proxy_upstream_errors_total{upstream="${hub.url}"}`)).toBe(0);
  }, 60_000);

  test("with the upstream stopped, cached tags and digests are served and a cold miss is 502 naming it", async () => {
    const image = await pushSmallImage(other.url, null, "tools/cli", "v1", 2);
    await pushSmallImage(other.url, null, "tools/never", "v1", 1);
    await pullThrough("other/tools/cli", "v1");
    await waitStored("other/tools/cli", image.digest);
    await other.stop();
    const before = await metrics();
    await Bun.sleep(1100); // past the 1s ttl: the tag is asked upstream, which does not answer
    const byTag = await pullThrough("other/tools/cli", "v1");
    expect(byTag).toEqual(image.blobs);
    const after = await metrics();
    expect(increase(before, after, "berth_proxy_stale_served_total")).toBe(1);
    expect(increase(before, after, `berth_proxy_upstream_errors_total{upstream="${other.url}"}`)).toBeGreaterThanOrEqual(1);
    expect((await manifestOf("other/tools/cli", image.digest)).status).toBe(200);
    const miss = await manifestOf("other/tools/never", "v1");
    expect(miss.status).toBe(502);
    expect(await miss.text()).toContain(other.url);
  }, 60_000);
});

/** The blobs' sizes summed, as the hub upstream serves them. */
async function upstreamBlobBytes(name: string, digests: string[]): Promise<number> {
  const authorization = `Basic ${Buffer.from(hub.creds ?? "").toString("base64")}`;
  let total = 0;
  for (const digest of digests) total += (await (await fetch(`${hub.url}/v2/${name}/blobs/${digest}`, { headers: { Authorization: authorization } })).arrayBuffer()).byteLength;
  return total;
}

/** The manifest's revision link is in the repository (stored, not just answered). */
function revisionStored(name: string, digest: string): boolean {
  return existsSync(join(berth.root, "docker/registry/v2/repositories", name, "_manifests/revisions/sha256", digest.slice(7), "link"));
}

function blobStored(digest: string): boolean {
  return existsSync(join(berth.root, "docker/registry/v2/blobs/sha256", digest.slice(7, 9), digest.slice(7), "data"));
}

/** Every GET or HEAD the hub upstream received whose path contains `fragment`, whatever its answer. */
function upstreamAsked(fragment: string): string[] {
  return hub.output().split("\n").filter((line) => (line.includes('"GET /v2/') || line.includes('"HEAD /v2/')) && line.includes(fragment));
}

/** GET /metrics as series -> value (`name{labels}` exactly as printed). */
async function metrics(): Promise<Map<string, number>> {
  const response = await fetch(`${berth.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  const series = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

function increase(before: Map<string, number>, after: Map<string, number>, series: string): number {
  const now = after.get(series);
  if (now === undefined) throw new Error(`${series} is not on /metrics`);
  return now - (before.get(series) ?? 0);
}

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
