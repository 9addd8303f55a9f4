/**
 * The tutorials' scenario with the real Docker client: two images built on one base (so they
 * share its layers) pushed to Berth, one deleted by digest, GC run on the live server. The blob
 * store shrinks by exactly the deleted image's own bytes (its manifest, config and the layer no
 * other image has); the other image pulls and runs; Distribution 2.8.2 then serves it from the
 * same root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDistribution, type DistributionProcess } from "../helpers/distribution.ts";
import { buildImage, buildTestImage, ensureDocker, imageExists, pullImage, pushImage, removeImage, runImage, tagImage, type TestImage } from "../helpers/docker.ts";
import { blobStoreBytes, pullComplete, type PulledImage, runGc } from "../helpers/gc.ts";
import { blobExists, call, expectStatus, getManifest } from "../helpers/oci.ts";
import { type BerthProcess, removeDir, startBerth, tempDir, withServerLog } from "../helpers/server.ts";

/** An image FROM `base` with one more layer holding `text` at /etc/berth-version (what it prints). */
async function buildOnBase(base: TestImage, name: string): Promise<TestImage> {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const text = `berth-gc-e2e ${name} ${id}`;
  const tag = `berth-e2e/${name}:${id}`;
  const dir = tempDir("berth-docker-ctx-");
  try {
    mkdirSync(join(dir, "etc"));
    writeFileSync(join(dir, "etc/berth-version"), `${text}\n`);
    writeFileSync(join(dir, "Dockerfile"), [`FROM ${base.tag}`, "COPY etc/berth-version /etc/berth-version", ""].join("\n"));
    return await buildImage(dir, tag, text);
  } finally {
    removeDir(dir);
  }
}

describe("GC with the docker CLI: the tutorials' scenario", () => {
  let berth: BerthProcess | undefined;
  let distribution: DistributionProcess | undefined;
  let root = "";
  const built: TestImage[] = [];
  const logs = () => [berth, distribution];

  beforeAll(async () => {
    await ensureDocker();
    root = tempDir("berth-gc-docker-");
  });

  afterAll(async () => {
    for (const image of built.reverse()) await removeImage(image.id); // children before their base
    await berth?.stop();
    await distribution?.stop();
    if (root) removeDir(root);
  });

  test(
    "after deleting one of two images sharing layers, GC frees exactly its own bytes; the other pulls and runs, and Distribution serves it",
    withServerLog(logs, async () => {
      berth = await startBerth({ root, env: { BERTH_GC_DELAY: "0s" } });
      const base = await buildTestImage({ name: "gc-base" });
      built.push(base);
      const first = await buildOnBase(base, "gc-first");
      built.push(first);
      const second = await buildOnBase(base, "gc-second");
      built.push(second);
      expect(second.layers).toBe(base.layers + 1);

      const repo = "tutorial/app";
      const refs = { first: `${berth.host}/${repo}:first`, second: `${berth.host}/${repo}:second` };
      await tagImage(first.id, refs.first);
      const firstDigest = await pushImage(refs.first);
      await tagImage(second.id, refs.second);
      const secondDigest = await pushImage(refs.second);

      const deleted: PulledImage = await pullComplete(berth.url, repo, "first", firstDigest);
      const keptBefore: PulledImage = await pullComplete(berth.url, repo, "second", secondDigest);
      const keptBlobs = new Set(keptBefore.blobs.map((b) => b.digest));
      const own = deleted.blobs.filter((b) => !keptBlobs.has(b.digest));
      expect(own.length).toBe(2); // its config and its top layer; the base's layers are shared
      const uniqueBytes = deleted.manifestSize + own.reduce((sum, b) => sum + b.size, 0);
      const before = blobStoreBytes(root);

      expectStatus(await call(berth.url, `/v2/${repo}/manifests/${firstDigest}`, { method: "DELETE" }), 202);
      const report = await runGc(berth.url);
      expect(report.blobs.map((b) => b.digest).sort()).toEqual([firstDigest, ...own.map((b) => b.digest)].sort());
      expect(report.bytesFreed).toBe(uniqueBytes);
      expect(blobStoreBytes(root)).toBe(before - uniqueBytes);
      expectStatus(await getManifest(berth.url, repo, firstDigest), 404);
      for (const blob of own) expect(await blobExists(berth.url, repo, blob.digest)).toBe(404);

      // nothing of either image is left locally: the pull fetches every layer, the shared ones too
      for (const image of [...built].reverse()) await removeImage(image.id);
      built.length = 0;
      expect(await imageExists(refs.second)).toBe(false);
      expect(await pullImage(refs.second)).toBe(secondDigest);
      expect((await runImage(refs.second)).trim()).toBe(second.text);
      await removeImage(refs.second);

      await berth.stop();
      berth = undefined;
      distribution = await startDistribution({ root });
      const served = await pullComplete(distribution.url, repo, "second", secondDigest);
      expect(served.blobs).toEqual(keptBefore.blobs);
      expectStatus(await getManifest(distribution.url, repo, firstDigest), 404);
    }),
    300_000,
  );
});
