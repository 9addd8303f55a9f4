/**
 * PostgreSQL going away under a running Berth (metadata.url on a server of this test's own):
 * while it is down, requests that need the index answer 503 "the metadata database is
 * unreachable" (clients retry; no crash, nothing half recorded); when it is back, Berth serves and records again without a restart.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { postgresInstalled, type PrivatePostgres, startPrivatePostgres } from "../helpers/private-postgres.ts";
import { ACCEPT_ALL_MANIFESTS, call, expectAlive, expectStatus, pushImage, sha256, type PushedImage, uniqueName } from "../helpers/oci.ts";
import { type BerthProcess, removeDir, startBerth, tempDir, testWithServerLog } from "../helpers/server.ts";

const available = postgresInstalled();

describe.skipIf(!available)("PostgreSQL restarts under a running Berth", () => {
  let postgres: PrivatePostgres | null = null;
  let berth: BerthProcess | null = null;
  let root = "";
  const test = testWithServerLog(() => [berth ?? undefined]);

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    root = tempDir("berth-pg-restart-");
    berth = await startBerth({ root, env: { BERTH_METADATA_URL: postgres.url } });
  }, 180_000);
  afterAll(async () => {
    await berth?.stop();
    await postgres?.stop();
    if (root) removeDir(root);
  }, 120_000);

  test("a push while it is down fails with a clean error; once it is back, pushes and pulls go on without a restart", async () => {
    const server = berth as BerthProcess;
    const database = postgres as PrivatePostgres;
    const before = await pushImage(server.url, "kept/app", { tag: "v1" });
    await database.halt();
    let during: number;
    try {
      during = (await call(server.url, `/v2/${uniqueName("down")}/blobs/uploads/`, { method: "POST" })).status;
      const tags = await call(server.url, "/v2/kept/app/tags/list");
      console.info(`with PostgreSQL down: POST upload ${during}, tag list ${tags.status} ${tags.text.slice(0, 200)}`);
      expect(tags.status).toBe(503);
      expect(tags.text).toContain("the metadata database is unreachable");
      await expectAlive(server);
    } finally {
      await database.resume();
    }
    expect(during).toBe(503);
    // back: bounded wait for the pool to reconnect
    const deadline = Date.now() + 30_000;
    let after: PushedImage | null = null;
    while (after === null && Date.now() < deadline) {
      after = await pushImage(server.url, "kept/app", { tag: "v2" }).catch(() => null);
      if (after === null) await Bun.sleep(500);
    }
    expect(after).not.toBeNull();
    for (const image of [before, after as PushedImage]) {
      const manifest = await call(server.url, `/v2/kept/app/manifests/${image.digest}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
      expectStatus(manifest, 200);
      expect(sha256(new Uint8Array(manifest.body))).toBe(image.digest);
    }
    const tags = await call(server.url, "/v2/kept/app/tags/list");
    expectStatus(tags, 200);
    expect(JSON.parse(tags.text)).toEqual({ name: "kept/app", tags: ["v1", "v2"] });
  }, 120_000);
});
