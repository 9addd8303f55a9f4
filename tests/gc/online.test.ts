/**
 * Garbage collection in-process (the composition `berth serve` uses, in-memory storage):
 * the review delay, dry runs, untagged manifests, and MANIFEST_BLOB_UNKNOWN for a blob GC took.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import {
  blobExists, call, expectError, expectStatus, getManifest, indexJson, MT, pushBlob, pushImage, putManifest, randomBytes, serialize, sha256, uniqueName,
} from "../helpers/oci.ts";

interface Report {
  dry_run: boolean;
  blobs_deleted: number;
  bytes_freed: number;
  manifests_deleted: number;
  blobs: Array<{ digest: string; size: number }>;
  manifests: Array<{ repository: string; digest: string }>;
}

let berth: InProcessBerth | undefined;
afterEach(async () => {
  await berth?.stop();
  berth = undefined;
});

async function gc(base: string, dryRun = false): Promise<Report> {
  const res = await call(base, `/api/v1/gc${dryRun ? "?dry_run=true" : ""}`, { method: "POST" });
  expectStatus(res, 200);
  return JSON.parse(res.text) as Report;
}

describe("online GC", () => {
  test("a blob uploaded but never referenced survives within the delay", async () => {
    berth = await startInProcess({ env: { BERTH_GC_DELAY: "1h" } });
    const repo = uniqueName("gc/keep");
    const blob = await pushBlob(berth.url, repo, randomBytes(100));
    const report = await gc(berth.url);
    expect(report.blobs_deleted).toBe(0);
    expect(await blobExists(berth.url, repo, blob.digest)).toBe(200);
    const status = JSON.parse((await call(berth.url, "/api/v1/gc")).text) as { waiting: Array<{ digest: string; size: number; review_at: string }>; runs: Array<{ blobs_deleted: number }> };
    expect(status.waiting.map((w) => w.digest)).toContain(blob.digest);
    expect(status.runs.length).toBeGreaterThan(0);
  });

  test("with delay 0 an unreferenced blob goes, answers 404, and a manifest naming it gets MANIFEST_BLOB_UNKNOWN", async () => {
    berth = await startInProcess({ env: { BERTH_GC_DELAY: "0s" } });
    const repo = uniqueName("gc/take");
    const kept = await pushImage(berth.url, repo, { tag: "kept" });
    const config = await pushBlob(berth.url, repo, randomBytes(50));
    const layer = await pushBlob(berth.url, repo, randomBytes(300));
    const dry = await gc(berth.url, true);
    expect(dry.dry_run).toBe(true);
    expect(dry.blobs.map((b) => b.digest).sort()).toEqual([config.digest, layer.digest].sort());
    expect(await blobExists(berth.url, repo, layer.digest)).toBe(200);

    const report = await gc(berth.url);
    expect(report.blobs_deleted).toBe(2);
    expect(report.bytes_freed).toBe(350);
    expect(await blobExists(berth.url, repo, layer.digest)).toBe(404);
    const manifest = serialize({
      schemaVersion: 2, mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size }],
    });
    expectError(await putManifest(berth.url, repo, "late", manifest, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    // the referenced image is untouched
    expectStatus(await getManifest(berth.url, repo, "kept"), 200);
    for (const blob of [kept.config, ...kept.layers]) expect(await blobExists(berth.url, repo, blob.digest)).toBe(200);
  });

  test("deleting an image frees only its own blobs; a shared layer stays", async () => {
    berth = await startInProcess({ env: { BERTH_GC_DELAY: "0s" } });
    const repo = uniqueName("gc/shared");
    const shared = await pushBlob(berth.url, repo, randomBytes(1000));
    const images = [];
    for (const tag of ["a", "b"]) {
      const config = await pushBlob(berth.url, repo, randomBytes(20 + images.length));
      const own = await pushBlob(berth.url, repo, randomBytes(500 + images.length));
      const bytes = serialize({
        schemaVersion: 2, mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
        layers: [shared, own].map((l) => ({ mediaType: MT.ociLayer, digest: l.digest, size: l.size })),
      });
      expectStatus(await putManifest(berth.url, repo, tag, bytes, MT.ociManifest), 201);
      images.push({ config, own, digest: sha256(bytes), size: bytes.byteLength });
    }
    const [a, b] = images as [typeof images[0], typeof images[0]];
    expectStatus(await call(berth.url, `/v2/${repo}/manifests/${a.digest}`, { method: "DELETE" }), 202);
    const report = await gc(berth.url);
    expect(report.blobs.map((x) => x.digest).sort()).toEqual([a.config.digest, a.own.digest, a.digest].sort());
    expect(report.bytes_freed).toBe(a.config.size + a.own.size + a.size);
    for (const blob of [shared, b.config, b.own]) expect(await blobExists(berth.url, repo, blob.digest)).toBe(200);
    expectStatus(await getManifest(berth.url, repo, "b"), 200);
  });

  test("untagged manifests stay unless gc.untagged is set", async () => {
    berth = await startInProcess({ env: { BERTH_GC_DELAY: "0s" } });
    const repo = uniqueName("gc/pinned");
    const image = await pushImage(berth.url, repo);
    await Bun.sleep(20);
    expect((await gc(berth.url)).manifests_deleted).toBe(0);
    expectStatus(await getManifest(berth.url, repo, image.digest), 200);
  });

  test("gc.untagged deletes untagged manifests, not a child of a tagged index", async () => {
    berth = await startInProcess({ env: { BERTH_GC_DELAY: "0s", BERTH_GC_UNTAGGED: "1ms" } });
    const repo = uniqueName("gc/untagged");
    const loose = await pushImage(berth.url, repo);
    const child = await pushImage(berth.url, repo);
    const tagged = await pushImage(berth.url, repo, { tag: "v1" });
    const index = serialize(indexJson({ manifests: [{ ...child.descriptor, platform: { architecture: "amd64", os: "linux" } }] }));
    expectStatus(await putManifest(berth.url, repo, "multi", index, MT.ociIndex), 201);
    await Bun.sleep(20);
    const dry = await gc(berth.url, true);
    expect(dry.manifests).toEqual([{ repository: repo, digest: loose.digest }]);
    // HEAD: a GET is a pull, and a manifest pulled within gc.untagged stays
    expectStatus(await call(berth.url, `/v2/${repo}/manifests/${loose.digest}`, { method: "HEAD" }), 200);

    const report = await gc(berth.url);
    expect(report.manifests).toEqual([{ repository: repo, digest: loose.digest }]);
    expect(report.blobs.map((b) => b.digest).sort()).toEqual([loose.digest, loose.config.digest, ...loose.layers.map((l) => l.digest)].sort());
    expectStatus(await getManifest(berth.url, repo, loose.digest), 404);
    for (const kept of [child, tagged]) expectStatus(await getManifest(berth.url, repo, kept.digest), 200);
  });
});
