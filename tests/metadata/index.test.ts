/**
 * The metadata index records what every push, pull and delete did, on SQLite and on PostgreSQL;
 * listings come from it; a change a crash interrupted is settled from the tree at the next start.
 */
import { SQL } from "bun";
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseDigest } from "../../src/oci/digest.ts";
import { treeReader } from "../../src/registry/tree-reader.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { paths } from "../../src/storage/paths.ts";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { call, expectStatus, hexOf, MT, pushBlob, pushImage, putManifest, randomBytes, tagsOf } from "../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const backends = metadataBackends();
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

async function envFor(backend: string): Promise<Record<string, string>> {
  if (backend === "sqlite") return {};
  const database = await createTestDatabase("berth_index");
  databases.push(database);
  return { BERTH_METADATA_URL: database.url };
}

async function rows(berth: InProcessBerth, query: string, ...values: unknown[]): Promise<Record<string, unknown>[]> {
  const result: unknown = await berth.index.database.sql.unsafe(query, values);
  return Array.isArray(result) ? result : [];
}

describe.each(backends)("metadata index on %s", (backend) => {
  test("a push records the manifest's facts, its tag with history, and its blobs as referenced", async () => {
    const berth = await startInProcess({ env: await envFor(backend) });
    try {
      await berth.indexBuilt;
      const image = await pushImage(berth.url, "team/app", { tag: "v1", layerCount: 2 });
      const [manifest] = await rows(berth, "SELECT * FROM manifests WHERE repository = $1 AND digest = $2", "team/app", image.digest);
      const expectedTotal = image.bytes.byteLength + image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
      expect(Number(manifest?.total_size)).toBe(expectedTotal);
      expect(manifest?.media_type).toBe(MT.ociManifest);
      expect(JSON.parse(String(manifest?.platforms))).toEqual([{ os: "linux", architecture: "amd64" }]);
      expect(Number(manifest?.pull_count)).toBe(0);
      expect((await rows(berth, "SELECT digest FROM tags WHERE repository = $1 AND tag = 'v1'", "team/app")).map((r) => r.digest)).toEqual([image.digest]);
      const referenced = await rows(berth, "SELECT digest, review_at FROM blobs ORDER BY digest");
      expect(referenced.map((r) => r.digest).sort()).toEqual([image.digest, image.config.digest, ...image.layers.map((l) => l.digest)].sort());
      expect(referenced.every((r) => r.review_at === null)).toBe(true);

      const retagged = await pushImage(berth.url, "team/app", { tag: "v1" });
      const history = await rows(berth, "SELECT digest FROM tag_history WHERE repository = $1 AND tag = 'v1' ORDER BY at, digest", "team/app");
      expect(history.map((r) => r.digest).sort()).toEqual([image.digest, retagged.digest].sort());
      expect(await tagsOf(berth.url, "team/app")).toEqual(["v1"]);
    } finally {
      await berth.stop();
    }
  });

  test("an uploaded blob nobody references waits for review; a deleted image's own blobs are queued, shared ones not", async () => {
    const berth = await startInProcess({ env: await envFor(backend) });
    try {
      await berth.indexBuilt;
      const loose = await pushBlob(berth.url, "team/loose", randomBytes(100));
      const [looseRow] = await rows(berth, "SELECT review_at FROM blobs WHERE digest = $1", loose.digest);
      expect(looseRow?.review_at).not.toBeNull();

      const kept = await pushImage(berth.url, "team/app", { tag: "kept" });
      const dropped = await pushImage(berth.url, "team/app", { tag: "dropped" });
      // the dropped image shares the kept image's layer
      const shared = kept.layers[0];
      if (!shared) throw new Error("no layer");
      const sharing = await putManifest(berth.url, "team/app", "sharing", JSON.stringify({
        schemaVersion: 2, mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: dropped.config.digest, size: dropped.config.size },
        layers: [{ mediaType: MT.ociLayer, digest: shared.digest, size: shared.size }],
      }), MT.ociManifest);
      expectStatus(sharing, 201);
      const sharingDigest = sharing.headers.get("docker-content-digest") ?? "";
      expectStatus(await call(berth.url, `/v2/team/app/manifests/${sharingDigest}`, { method: "DELETE" }), 202);
      const queued = (await rows(berth, "SELECT digest FROM blobs WHERE review_at IS NOT NULL")).map((r) => r.digest);
      expect(queued).toContain(sharingDigest); // the manifest's own bytes
      expect(queued).not.toContain(shared.digest); // still the kept image's layer
      expect(queued).not.toContain(dropped.config.digest); // still the dropped image's config
      expect(await rows(berth, "SELECT tag FROM tags WHERE repository = 'team/app' AND tag = 'sharing'")).toEqual([]);
    } finally {
      await berth.stop();
    }
  });

  test("pulls are counted in batches and written when Berth stops", async () => {
    const root = tempDir("berth-index-pulls-");
    const env: Record<string, string> = { ...(await envFor(backend)), BERTH_STORAGE_DRIVER: "filesystem" };
    try {
      const first = await startInProcess({ env, root });
      const image = await pushImage(first.url, "team/pulled", { tag: "v1" });
      for (let i = 0; i < 3; i++) expectStatus(await call(first.url, "/v2/team/pulled/manifests/v1", { headers: { Accept: MT.ociManifest } }), 200);
      await first.stop();
      const second = await startInProcess({ env, root });
      try {
        const [row] = await rows(second, "SELECT pull_count, last_pulled_at FROM manifests WHERE digest = $1", image.digest);
        expect(Number(row?.pull_count)).toBe(3);
        expect(row?.last_pulled_at).not.toBeNull();
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(root);
    }
  });

  test("a record that fails after the tree changed is settled from the tree at once", async () => {
    const root = tempDir("berth-index-record-");
    const env: Record<string, string> = { ...(await envFor(backend)), BERTH_STORAGE_DRIVER: "filesystem" };
    const berth = await startInProcess({ env, root });
    try {
      await berth.indexBuilt;
      const image = await pushImage(berth.url, "team/record", { tag: "v1" });
      const driver = new FilesystemDriver(root);
      const digest = parseDigest(image.digest);
      const change = berth.index.change(
        { repository: "team/record", digest: null, tag: "v2" },
        treeReader(driver),
        async () => {
          await driver.putContent(paths.tagIndexLink("team/record", "v2", digest), image.digest);
          await driver.putContent(paths.tagCurrentLink("team/record", "v2"), image.digest);
        },
        async () => {
          throw new Error("the database gave up");
        },
      );
      const failure = await change.then(
        () => "resolved",
        (error: unknown) => String(error),
      );
      expect(failure).toContain("the database gave up");
      expect(await berth.index.tags("team/record")).toEqual(["v1", "v2"]);
      expect(await rows(berth, "SELECT id FROM journal WHERE repository = $1", "team/record")).toEqual([]);
    } finally {
      await berth.stop();
      removeDir(root);
    }
  });

  test("a change a crash interrupted is settled from the tree at the next start", async () => {
    const root = tempDir("berth-index-journal-");
    const env: Record<string, string> = { ...(await envFor(backend)), BERTH_STORAGE_DRIVER: "filesystem" };
    try {
      const first = await startInProcess({ env, root });
      const image = await pushImage(first.url, "team/crash", { tag: "v1" });
      await pushImage(first.url, "team/crash", { tag: "v2" });
      // as if Berth died between the tree change and its index record: journaled, tree changed, index not
      await first.index.database.write((tx) => tx`INSERT INTO journal (id, repository, digest, tag, started_at)
        VALUES (${crypto.randomUUID()}, ${"team/crash"}, ${image.digest}, ${"v1"}, ${Date.now()})`);
      await first.stop();
      const repository = join(root, "docker/registry/v2/repositories/team/crash");
      rmSync(join(repository, "_manifests/tags/v1"), { recursive: true });
      rmSync(join(repository, "_manifests/revisions/sha256", hexOf(image.digest)), { recursive: true });

      const second = await startInProcess({ env, root });
      try {
        expect(second.output()).toContain("settled changes a stop interrupted");
        expect(await tagsOf(second.url, "team/crash")).toEqual(["v2"]);
        expect(await rows(second, "SELECT digest FROM manifests WHERE digest = $1", image.digest)).toEqual([]);
        expect(await rows(second, "SELECT id FROM journal")).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(root);
    }
  });

  test("the first start over an existing tree builds the index in the background; listings come from it after", async () => {
    const root = tempDir("berth-index-build-");
    const env: Record<string, string> = { ...(await envFor(backend)), BERTH_STORAGE_DRIVER: "filesystem" };
    try {
      const first = await startInProcess({ env, root });
      const image = await pushImage(first.url, "team/built", { tag: "v1" });
      await first.stop();
      // an index lost (or a registry:2 tree never indexed): only the tree is left
      if (backend === "sqlite") rmSync(join(root, "berth/metadata.db"), { force: true });
      else await emptyIndex(env.BERTH_METADATA_URL ?? "");
      const second = await startInProcess({ env, root });
      try {
        await second.indexBuilt;
        expect((await rows(second, "SELECT digest FROM manifests WHERE repository = 'team/built'")).map((r) => r.digest)).toEqual([image.digest]);
        expect(await tagsOf(second.url, "team/built")).toEqual(["v1"]);
        const catalog = await call(second.url, "/v2/_catalog");
        expect(JSON.parse(catalog.text)).toEqual({ repositories: ["team/built"] });
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(root);
    }
  });
});

/** Empties every table of a PostgreSQL index (its file cannot just be removed). */
async function emptyIndex(url: string): Promise<void> {
  const sql = new SQL(url);
  try {
    for (const table of ["meta", "repositories", "blobs", "repository_blobs", "manifests", "manifest_references", "tags", "tag_history", "journal"]) {
      await sql.unsafe(`DELETE FROM ${table}`);
    }
  } finally {
    await sql.close();
  }
}
