/**
 * berth backup while 8 clients push: the archive is a point in time (every image acknowledged
 * before it started is in it, whole); berth restore into a new root serves them, and berth fsck
 * finds nothing wrong there.
 */
import { expect } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, getManifest, type PushedImage, pushImage, sha256 } from "../helpers/oci.ts";
import { removeDir, runBerth, serverSuite, startBerth, tempDir } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();

test("a backup during 8 concurrent pushers restores to a registry that serves every image acknowledged before it", async () => {
  const dir = tempDir("berth-backup-");
  cleanups.push(async () => removeDir(dir));
  const root = join(dir, "data");
  mkdirSync(root);
  const berth = await servers.started(startBerth({ root }));
  const acknowledged: Array<{ image: PushedImage; at: number }> = [];
  let stop = false;
  const pusher = async (n: number) => {
    for (let i = 0; i < 200 && !stop; i++) {
      const image = await pushImage(berth.url, `backup/p${n}`, { tag: `t${i}`, layerCount: 2 });
      acknowledged.push({ image, at: performance.now() });
    }
  };
  const pushers = Array.from({ length: 8 }, (_, n) => pusher(n));
  while (acknowledged.length < 16) await Bun.sleep(20);
  const backupStarted = performance.now();
  const before = acknowledged.filter(({ at }) => at <= backupStarted).map(({ image }) => image);
  const archive = join(dir, "registry.tar");
  writeFileSync(join(dir, "registry.toml"), `[storage]\nroot = "${root}"\n`);
  const backup = await runBerth(["backup", "--out", archive, "--config", join(dir, "registry.toml")], { cwd: dir, timeoutMs: 120_000 });
  stop = true;
  await Promise.all(pushers);
  expect(backup.stderr).toContain("asking it through");
  expect(backup.stderr).toContain("backup written");
  expect(backup.code).toBe(0);
  expect(existsSync(`${archive}.partial`)).toBe(false);
  await servers.stopped(berth);

  const restored = join(dir, "restored");
  const restore = await runBerth(["restore", archive, "--root", restored], { cwd: dir });
  expect(restore.stderr).toContain("restored");
  expect(restore.code).toBe(0);
  expect((await runBerth(["restore", archive, "--root", restored], { cwd: dir })).code).not.toBe(0); // not into a used root

  writeFileSync(join(dir, "restored.toml"), `[storage]\nroot = "${restored}"\n`);
  const fsck = await runBerth(["fsck", "--config", join(dir, "restored.toml")], { cwd: dir, timeoutMs: 120_000 });
  expect(`${fsck.stdout}${fsck.stderr}`).not.toMatch(/missing|corrupt|unknown/i);
  expect(fsck.code).toBe(0);

  const again = await servers.started(startBerth({ root: restored }));
  expect(before.length).toBeGreaterThanOrEqual(16);
  for (const image of before) {
    const pulled = await getManifest(again.url, image.repo, image.digest);
    expect(pulled.status).toBe(200);
    expect(sha256(pulled.body)).toBe(image.digest);
    for (const blob of [image.config, ...image.layers]) {
      const got = await call(again.url, `/v2/${image.repo}/blobs/${blob.digest}`);
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(blob.digest);
    }
  }
  // every tag in the archive resolves to a manifest whose blobs are there
  const catalog = JSON.parse((await call(again.url, "/v2/_catalog")).text) as { repositories: string[] };
  for (const repo of catalog.repositories) {
    const tags = JSON.parse((await call(again.url, `/v2/${repo}/tags/list`)).text) as { tags: string[] };
    for (const tag of tags.tags) {
      const manifest = await getManifest(again.url, repo, tag);
      expect(manifest.status).toBe(200);
      const doc = JSON.parse(manifest.text) as { config: { digest: string }; layers: Array<{ digest: string }> };
      for (const digest of [doc.config.digest, ...doc.layers.map((layer) => layer.digest)]) {
        expect((await call(again.url, `/v2/${repo}/blobs/${digest}`, { method: "HEAD" })).status).toBe(200);
      }
    }
  }
}, 240_000);
