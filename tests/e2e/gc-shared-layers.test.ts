/**
 * The tutorials' scenario through the API, against the compiled binary, on SQLite and (when the
 * tests' PostgreSQL runs) on PostgreSQL: two images sharing layers, one deleted by digest,
 * `berth gc` asking the running server; the blob store shrinks by exactly the deleted image's
 * own bytes, the other image pulls whole, fsck is clean, and Distribution 2.8.2 serves what is
 * left from the same root.
 */
import { describe, expect } from "bun:test";
import { startDistribution } from "../helpers/distribution.ts";
import { blobStoreBytes, imageBytes, imageOf, pullComplete, pushBuiltImage, randomLayer, testStorage, uniqueConfig } from "../helpers/gc.ts";
import { blobExists, call, expectStatus, getManifest } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { runBerth, startBerth, serverSuite } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();

describe.each(metadataBackends())("GC of an image sharing layers (%s)", (backend) => {
  test("deleting one image and running berth gc frees exactly its own bytes; the other pulls, and Distribution serves it", async () => {
    const storage = await testStorage(backend, "gc-shared");
    cleanups.push(() => storage.remove());
    const berth = await servers.started(startBerth({ root: storage.root, env: { ...storage.env, BERTH_GC_DELAY: "0s" } }));
    const repo = "tutorial/app";
    const base = [randomLayer(40_000), randomLayer(25_000)];
    const deleted = imageOf(uniqueConfig(), [...base, randomLayer(12_345)]);
    const kept = imageOf(uniqueConfig(), [...base, randomLayer(7_000)]);
    await pushBuiltImage(berth.url, repo, "v1", deleted);
    await pushBuiltImage(berth.url, repo, "v2", kept);
    const sharedBytes = base.reduce((sum, layer) => sum + layer.size, 0);
    const uniqueBytes = imageBytes(deleted) - sharedBytes;
    const before = blobStoreBytes(storage.root);
    expect(before).toBe(imageBytes(deleted) + imageBytes(kept) - sharedBytes); // nothing else is stored

    expectStatus(await call(berth.url, `/v2/${repo}/manifests/${deleted.digest}`, { method: "DELETE" }), 202);
    expect(blobStoreBytes(storage.root)).toBe(before); // a delete frees nothing by itself

    // `berth gc` finds the server holding the root and asks it through its admin socket
    const gc = await runBerth(["gc"], { env: storage.env });
    expect(gc.stderr).toContain("asking it through");
    expect(gc.stdout).toContain(`deleted 3 blobs (${uniqueBytes} bytes freed)`);
    expect(gc.code).toBe(0);
    expect(blobStoreBytes(storage.root)).toBe(before - uniqueBytes);

    await pullComplete(berth.url, repo, "v2", kept.digest);
    expectStatus(await getManifest(berth.url, repo, deleted.digest), 404);
    expect(await blobExists(berth.url, repo, deleted.layers[2]?.digest ?? "")).toBe(404);
    await servers.stopped(berth);

    const fsck = await runBerth(["fsck"], { env: storage.env });
    expect(fsck.stdout).toContain("fsck: clean");
    expect(fsck.code).toBe(0);

    const distribution = await servers.started(startDistribution({ root: storage.root }));
    const served = await pullComplete(distribution.url, repo, "v2", kept.digest);
    expect(served.blobs.map((b) => b.digest)).toEqual([kept.config, ...kept.layers].map((b) => b.digest));
    expectStatus(await getManifest(distribution.url, repo, deleted.digest), 404);
    expect(await blobExists(distribution.url, repo, deleted.config.digest)).toBe(404);
    await servers.stopped(distribution);
  }, 90_000);
});
