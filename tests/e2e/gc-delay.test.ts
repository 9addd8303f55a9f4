/**
 * The review delay against the compiled binary: a blob uploaded and not yet referenced survives
 * GC within [gc] delay; once GC took one (delay 0), a manifest naming it is refused with
 * MANIFEST_BLOB_UNKNOWN and nothing of it is stored, and pushing the blob again lets it in.
 * On SQLite and, when the tests' PostgreSQL runs, on PostgreSQL.
 */
import { describe, expect } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startDistribution } from "../helpers/distribution.ts";
import { blobFile, blobStoreBytes, imageOf, pullComplete, pushBuiltImage, randomLayer, runGc, testStorage, uniqueConfig, waitingBlobs } from "../helpers/gc.ts";
import { blobExists, call, expectError, expectStatus, getManifest, hexOf, MT, pushBlob, putManifest } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { startBerth, serverSuite, waitForOutput } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();

describe.each(metadataBackends())("GC review delay (%s)", (backend) => {
  test("a blob uploaded but not yet referenced survives GC within the delay", async () => {
    const storage = await testStorage(backend, "gc-delay");
    cleanups.push(() => storage.remove());
    const berth = await servers.started(startBerth({ root: storage.root, env: { ...storage.env, BERTH_GC_DELAY: "1h" } }));
    const repo = "delay/keep";
    const layer = randomLayer(4096);
    await pushBlob(berth.url, repo, layer.bytes);
    const before = blobStoreBytes(storage.root);

    const report = await runGc(berth.url);
    expect(report.blobsDeleted).toBe(0);
    expect(report.bytesFreed).toBe(0);
    expect(await blobExists(berth.url, repo, layer.digest)).toBe(200);
    expect(existsSync(blobFile(storage.root, layer.digest))).toBe(true);
    expect(blobStoreBytes(storage.root)).toBe(before);
    expect([...(await waitingBlobs(berth.url)).keys()]).toContain(layer.digest); // queued, for later

    // the manifest that references it is accepted and the image is whole
    const image = imageOf(uniqueConfig(), [layer]);
    await pushBlob(berth.url, repo, image.config.bytes);
    expectStatus(await putManifest(berth.url, repo, "v1", image.bytes, MT.ociManifest), 201);
    expect([...(await waitingBlobs(berth.url)).keys()]).not.toContain(layer.digest);
    await pullComplete(berth.url, repo, "v1", image.digest);
    await servers.stopped(berth);
  }, 60_000);

  test("a HEAD pushes a waiting blob's review back: one pushed to Berth, and one Distribution left unreferenced", async () => {
    const storage = await testStorage(backend, "gc-touch");
    cleanups.push(() => storage.remove());
    // garbage Distribution left: an image whose manifest was deleted, its layer still stored and linked
    const distribution = await servers.started(startDistribution({ root: storage.root }));
    const old = imageOf(uniqueConfig(), [randomLayer(1000)]);
    await pushBuiltImage(distribution.url, "delay/old", "v1", old);
    expectStatus(await call(distribution.url, `/v2/delay/old/manifests/${old.digest}`, { method: "DELETE" }), 202);
    await servers.stopped(distribution);

    const berth = await servers.started(startBerth({ root: storage.root, env: { ...storage.env, BERTH_GC_DELAY: "1h" } }));
    expect(await waitForOutput(berth, "metadata index built from the storage", 30_000)).toContain("metadata index built");
    const fresh = randomLayer(500);
    await pushBlob(berth.url, "delay/new", fresh.bytes);
    const before = await waitingBlobs(berth.url);
    const oldLayer = old.layers[0]?.digest ?? "";
    for (const [repo, digest] of [["delay/old", oldLayer], ["delay/new", fresh.digest]] as const) {
      const queued = before.get(digest);
      if (queued === undefined) throw new Error(`${digest} is not waiting: ${JSON.stringify([...before])}`);
      await Bun.sleep(Math.max(0, queued - 3_600_000 - Date.now()) + 20); // a HEAD later than its queueing
      expect(await blobExists(berth.url, repo, digest)).toBe(200);
      const after = (await waitingBlobs(berth.url)).get(digest);
      expect(after, `${repo}@${digest}`).toBeGreaterThan(queued);
    }
    await servers.stopped(berth);
  }, 60_000);

  test("a manifest naming blobs GC took gets MANIFEST_BLOB_UNKNOWN and is not stored; pushing the blobs again lets it in", async () => {
    const storage = await testStorage(backend, "gc-taken");
    cleanups.push(() => storage.remove());
    const berth = await servers.started(startBerth({ root: storage.root, env: { ...storage.env, BERTH_GC_DELAY: "0s" } }));
    const repo = "delay/taken";
    const image = imageOf(uniqueConfig(), [randomLayer(2048), randomLayer(3000)]);
    for (const blob of [image.config, ...image.layers]) await pushBlob(berth.url, repo, blob.bytes);

    const report = await runGc(berth.url);
    const taken = [image.config, ...image.layers];
    expect(report.blobs.map((b) => b.digest).sort()).toEqual(taken.map((b) => b.digest).sort());
    expect(report.bytesFreed).toBe(taken.reduce((sum, b) => sum + b.size, 0));
    for (const blob of taken) {
      expect(await blobExists(berth.url, repo, blob.digest)).toBe(404);
      expect(existsSync(blobFile(storage.root, blob.digest))).toBe(false);
    }

    const refused = expectError(await putManifest(berth.url, repo, "v1", image.bytes, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    expect(refused.detail).toEqual({ digest: image.config.digest }); // the first one it names
    // never a stored manifest with a missing layer: neither by tag nor by digest, nor on disk
    expectStatus(await getManifest(berth.url, repo, "v1"), 404);
    expectStatus(await getManifest(berth.url, repo, image.digest), 404);
    const revision = join(storage.root, "docker/registry/v2/repositories", repo, "_manifests/revisions/sha256", hexOf(image.digest));
    expect(existsSync(revision)).toBe(false);
    expectError(await putManifest(berth.url, repo, image.digest, image.bytes, MT.ociManifest), 400, "MANIFEST_BLOB_UNKNOWN");
    expectStatus(await getManifest(berth.url, repo, image.digest), 404);

    // what a client does next: push the blobs again, then the manifest
    for (const blob of taken) await pushBlob(berth.url, repo, blob.bytes);
    expectStatus(await putManifest(berth.url, repo, "v1", image.bytes, MT.ociManifest), 201);
    expect((await runGc(berth.url)).blobsDeleted).toBe(0); // referenced now
    await pullComplete(berth.url, repo, "v1", image.digest);
    await servers.stopped(berth);
  }, 60_000);
});
