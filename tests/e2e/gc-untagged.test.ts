/**
 * gc.untagged against the compiled binary, on its own schedule (gc.interval): manifests with no
 * tag and no pull for that long go, with the blobs only they used; a tagged manifest, and an
 * untagged one that keeps being pulled (pinned by digest), stay and pull whole. SQLite and,
 * when the tests' PostgreSQL runs, PostgreSQL.
 */
import { describe, expect } from "bun:test";
import { existsSync } from "node:fs";
import { blobFile, imageOf, pullComplete, pushBuiltImage, randomLayer, testStorage, uniqueConfig } from "../helpers/gc.ts";
import { call } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { serverSuite, startBerth } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();

describe.each(metadataBackends())("gc.untagged on its schedule (%s)", (backend) => {
  test("untagged and unpulled manifests go with their own blobs; tagged and pulled ones stay", async () => {
    const storage = await testStorage(backend, "gc-untagged");
    cleanups.push(() => storage.remove());
    // delay 5s: a run must not take the blobs of an image being pushed before its manifest names them
    const env = { ...storage.env, BERTH_GC_DELAY: "5s", BERTH_GC_UNTAGGED: "3s", BERTH_GC_INTERVAL: "1s" };
    const berth = await servers.started(startBerth({ root: storage.root, env }));
    const repo = "untagged/app";
    const shared = randomLayer(2000);
    const loose = imageOf(uniqueConfig(), [shared, randomLayer(1500)]); // pushed by digest only
    const replaced = imageOf(uniqueConfig(), [shared, randomLayer(1600)]); // its tag moves on
    const current = imageOf(uniqueConfig(), [shared, randomLayer(1700)]);
    const pinned = imageOf(uniqueConfig(), [randomLayer(1800)]); // untagged, pulled by digest
    await pushBuiltImage(berth.url, repo, loose.digest, loose);
    await pushBuiltImage(berth.url, repo, "stable", replaced);
    await pushBuiltImage(berth.url, repo, "stable", current);
    await pushBuiltImage(berth.url, repo, pinned.digest, pinned);

    // HEAD: a GET would count as a pull and keep the manifest
    const gone = async (digest: string) => (await call(berth.url, `/v2/${repo}/manifests/${digest}`, { method: "HEAD" })).status === 404;
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && !((await gone(loose.digest)) && (await gone(replaced.digest)))) {
      await pullComplete(berth.url, repo, pinned.digest, pinned.digest);
      await Bun.sleep(300);
    }
    expect(await gone(loose.digest)).toBe(true);
    expect(await gone(replaced.digest)).toBe(true);

    await pullComplete(berth.url, repo, "stable", current.digest);
    await pullComplete(berth.url, repo, pinned.digest, pinned.digest);
    // their own blobs go once their review comes (gc.delay after the manifests went); the shared layer stays
    const own = [loose.config, ...loose.layers.slice(1), replaced.config, ...replaced.layers.slice(1)].map((blob) => blob.digest);
    const blobsGone = async () => own.every((digest) => !existsSync(blobFile(storage.root, digest)));
    for (let i = 0; i < 250 && !(await blobsGone()); i++) await Bun.sleep(100);
    expect(own.filter((digest) => existsSync(blobFile(storage.root, digest)))).toEqual([]);
    expect(existsSync(blobFile(storage.root, shared.digest))).toBe(true);
    await servers.stopped(berth);
  }, 90_000);
});
