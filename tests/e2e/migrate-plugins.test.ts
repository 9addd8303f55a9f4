/**
 * Plugins' data across `berth migrate` with the compiled binary: a single Berth (filesystem +
 * SQLite) whose retention policy removed a tag is stopped, its index moved to PostgreSQL
 * (--metadata-only: the storage stays on the filesystem), and Berth started on the target
 * with the old storage root adopts retention's SQLite file: the removed tag is restored through
 * the API, the run is listed, and the file is renamed so the next start adopts nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, expectStatus, isRecord } from "../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { RunningServers } from "../helpers/process.ts";
import { removeDir, runBerth, startBerth, tempDir, withServerLog } from "../helpers/server.ts";
import { pushImage, tagList } from "../plugins/retention/support.ts";

const POLICY = `
[[retention.policies]]
repositories = ["team/**"]
  [[retention.policies.rules]]
  most_recent = 1
`;

async function json(base: string, path: string, method = "GET"): Promise<Record<string, unknown>> {
  const res = await call(base, path, { method, timeoutMs: 60_000 });
  expectStatus(res, 200);
  const value: unknown = JSON.parse(res.text);
  if (!isRecord(value)) throw new Error(`${path}: not a JSON object: ${res.text}`);
  return value;
}

describe.skipIf(!metadataBackends().includes("postgres"))("berth migrate: retention's undo records follow to PostgreSQL", () => {
  const servers = new RunningServers();
  const dir = tempDir("berth-migrate-plugins-");
  const root = join(dir, "root");
  const retentionDir = join(root, "berth/plugins/retention");
  const sourceConfig = join(dir, "source.toml");
  const targetConfig = join(dir, "target.toml");
  let database: TestDatabase | null = null;
  let oldDigest = "";

  beforeAll(async () => {
    database = await createTestDatabase("berth_migrate_plugins");
    mkdirSync(root);
    writeFileSync(sourceConfig, `[storage]\nroot = "${root}"\n${POLICY}`);
    writeFileSync(targetConfig, `[storage]\nroot = "${root}"\n[metadata]\nurl = "${database.url}"\n${POLICY}`);
  });
  afterAll(async () => {
    await servers.stopAll();
    await database?.drop();
    removeDir(dir);
  }, 60_000);

  test("a tag retention removed on the single Berth is restored on the migrated one", withServerLog(() => servers.list(), async () => {
    const single = await servers.started(startBerth({ root, args: ["serve", "--config", sourceConfig] }));
    oldDigest = (await pushImage(single.url, "team/app", "old")).digest;
    await pushImage(single.url, "team/app", "new");
    await json(single.url, "/api/v1/retention/run", "POST");
    expect(await tagList(single.url, "team/app")).toEqual(["new"]);
    await servers.stopped(single);
    expect(existsSync(join(retentionDir, "retention.db"))).toBe(true);

    const migrated = await runBerth(["migrate", "--config", sourceConfig, "--to", targetConfig, "--metadata-only"], { cwd: dir, timeoutMs: 120_000 });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain("berth/plugins");

    const replica = await servers.started(startBerth({ root, args: ["serve", "--config", targetConfig] }));
    expect(replica.output()).toContain("retention: adopted the data of a single Berth");
    expect(existsSync(join(retentionDir, "retention.db"))).toBe(false);
    expect(readdirSync(retentionDir).some((name) => /^retention\.db\.adopted-\d{8}T\d{6}Z$/.test(name))).toBe(true);
    const runs = (await json(replica.url, "/api/v1/retention/runs")).runs;
    expect(Array.isArray(runs) ? runs.length : -1).toBe(1);
    const restored = await call(replica.url, "/api/v1/repositories/team/app/tags/old/restore", { method: "POST" });
    expectStatus(restored, 200);
    expect(restored.text).toContain(oldDigest);
    expect(await tagList(replica.url, "team/app")).toEqual(["new", "old"]);
    await servers.stopped(replica);

    // the next start finds nothing to adopt
    const again = await servers.started(startBerth({ root, args: ["serve", "--config", targetConfig] }));
    expect(again.output()).not.toContain("adopted the data of a single Berth");
    expect((await call(again.url, "/api/v1/repositories/team/app/tags/old/restore", { method: "POST" })).status).toBe(404);
    await servers.stopped(again);
  }), 240_000);
});
