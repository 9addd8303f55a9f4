/**
 * The retention plugin as two replicas sharing one PostgreSQL database (src/cluster's real
 * leases): one run at a time, the other answered 409 naming the holder; a scheduled tick on the
 * other replica skipped; a lease whose holder died taken over; undo records and runs written
 * through one replica seen and restored through the other.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createRetentionPlugin, validateRetentionConfig } from "../../../plugins/retention/index.ts";
import { HookDenial } from "../../../src/hooks/types.ts";
import { MT, serialize, utf8 } from "../../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../../helpers/postgres.ts";
import { bodyOf, type Instance, MemoryRegistry, startInstance } from "../replicas.ts";

const LEASE = "plugin:retention:run";
const RUN = "POST /api/v1/retention/run";
const RUNS = "GET /api/v1/retention/runs";
const RESTORE = "POST /api/v1/repositories/{name}/tags/{tag}/restore";

function config() {
  return validateRetentionConfig({
    retention: { undo_window: "7d", policies: [{ repositories: ["team/**"], schedule: "1h", rules: [{ tags: ["v*"], most_recent: 1 }] }] },
  });
}

/** A fresh image manifest in `repository` under `tag`, pushed `daysAgo` days ago. */
function pushImage(registry: MemoryRegistry, repository: string, tag: string, daysAgo: number): string {
  const config = registry.putBlob(utf8(JSON.stringify({ tag, nonce: crypto.randomUUID() })));
  const bytes = serialize({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: config, size: 10 }, layers: [] });
  return registry.putManifest(repository, bytes, MT.ociManifest, tag, new Date(Date.now() - daysAgo * 86_400_000).toISOString());
}

async function runsOf(instance: Instance): Promise<Array<Record<string, unknown>>> {
  const runs = (await bodyOf(await instance.call(RUNS))).runs;
  if (!Array.isArray(runs)) throw new Error(`runs is not a list: ${JSON.stringify(runs)}`);
  return runs.filter((run): run is Record<string, unknown> => typeof run === "object" && run !== null);
}

describe.skipIf(!metadataBackends().includes("postgres"))("retention on two replicas sharing PostgreSQL", () => {
  let db: TestDatabase;
  let registry: MemoryRegistry;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    db = await createTestDatabase("berth_retention_replicas");
    registry = new MemoryRegistry();
    a = await startInstance(createRetentionPlugin(config()), registry, "replica-a", db.url);
    b = await startInstance(createRetentionPlugin(config()), registry, "replica-b", db.url);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  test("the store lives in the shared database, not in a replica's directory", async () => {
    const tables = await a.cluster.sql!`SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'retention_%' ORDER BY table_name`;
    expect(tables.map((row: { table_name: string }) => row.table_name)).toEqual(["retention_removed_tags", "retention_runs", "retention_schedule"]);
    expect(existsSync(join(a.dataDir, "retention.db"))).toBe(false);
  });

  test("one run at a time: a manual run on the other replica, or on the same one, answers 409 naming the holder", async () => {
    pushImage(registry, "team/app", "v1", 3);
    pushImage(registry, "team/app", "v2", 1);
    const entered = new Promise<void>((resolve) => (registry.paused = resolve));
    let release = () => {};
    registry.pause = new Promise<void>((resolve) => (release = resolve));
    const first = a.call(RUN);
    await entered; // A holds the lease and waits inside its plan
    try {
      const other = await b.call(RUN);
      expect(other.status).toBe(409);
      const errors = (await bodyOf(other)).errors;
      expect(errors).toEqual([{ code: "UNSUPPORTED", message: "a retention run is in progress on replica replica-a; try again when it ends", detail: { holder: "replica-a" } }]);
      expect((await a.call(RUN)).status).toBe(409);
      // a scheduled tick on B finds the lease held and does nothing
      for (const tick of b.ticks) await tick();
    } finally {
      registry.pause = null;
      release();
    }
    const report = await bodyOf(await first);
    expect(report.deleted_tags).toBe(1);
    expect(await registry.tags("team/app")).toEqual(["v2"]);
    const runs = await runsOf(b);
    expect(runs.map((run) => run.trigger)).toEqual(["api"]);
    expect((await b.cluster.sql!`SELECT count(*)::int AS n FROM cluster_leases WHERE name = ${LEASE}`)[0].n).toBe(0);
  });

  test("undo records written through A are restored through B, and B's GC guard holds the manifest meanwhile", async () => {
    const removed = await b.call(RESTORE, "", { name: "team/app", tag: "v1" });
    const digest = (await bodyOf(removed)).digest;
    expect(removed.status).toBe(200);
    expect(typeof digest).toBe("string");
    expect((await registry.manifest("team/app", "v1"))?.digest).toBe(String(digest));
    // restored once: a second restore finds nothing
    expect((await a.call(RESTORE, "", { name: "team/app", tag: "v1" })).status).toBe(404);

    // removed again by a run on B: A's GC guard holds the untagged manifest for the undo window
    pushImage(registry, "team/app", "v3", -1); // pushed last: after the restore re-pointed v1
    expect((await bodyOf(await b.call(RUN))).deleted_tags).toBe(2);
    const held = registry.tagsOf.get("team/app");
    expect([...(held?.keys() ?? [])]).toEqual(["v3"]);
    const denial = a.ask("manifest.delete", { repository: "team/app", digest: String(digest) }, { method: "DELETE", actor: "berth:gc" });
    await expect(denial).rejects.toBeInstanceOf(HookDenial);
    expect((await runsOf(a)).length).toBe(2);
  });

  test("a scheduled policy runs once a period across replicas: the other replica's tick right after skips it", async () => {
    const before = (await runsOf(a)).length;
    for (const tick of a.ticks) await tick();
    for (const tick of b.ticks) await tick();
    const runs = await runsOf(b);
    expect(runs.length).toBe(before + 1);
    expect(runs[0]?.trigger).toBe("schedule (policy 1)");
  });

  test("a lease whose holder died is taken over once it has run out", async () => {
    const sql = a.cluster.sql!;
    await sql`INSERT INTO cluster_leases (name, holder, expires_at) VALUES (${LEASE}, 'replica-gone', (extract(epoch from clock_timestamp()) * 1000)::bigint + 60000)`;
    const refused = await b.call(RUN);
    expect(refused.status).toBe(409);
    expect(JSON.stringify(await bodyOf(refused))).toContain("replica-gone");
    // its holder stopped renewing it: it runs out
    await sql`UPDATE cluster_leases SET expires_at = (extract(epoch from clock_timestamp()) * 1000)::bigint - 1 WHERE name = ${LEASE}`;
    const taken = await b.call(RUN);
    expect(taken.status).toBe(200);
    expect((await sql`SELECT count(*)::int AS n FROM cluster_leases WHERE name = ${LEASE}`)[0].n).toBe(0);
  });
});

describe("retention alone (database null): the store stays in SQLite in the plugin's directory", () => {
  test("runs and undo work; two runs at once in one process: the second answers 409", async () => {
    const registry = new MemoryRegistry();
    const alone = await startInstance(createRetentionPlugin(config()), registry, "alone", null);
    try {
      pushImage(registry, "team/solo", "v1", 2);
      pushImage(registry, "team/solo", "v2", 1);
      const entered = new Promise<void>((resolve) => (registry.paused = resolve));
      let release = () => {};
      registry.pause = new Promise<void>((resolve) => (release = resolve));
      const first = alone.call(RUN);
      await entered;
      const second = await alone.call(RUN);
      registry.pause = null;
      release();
      expect(second.status).toBe(409);
      expect((await bodyOf(await first)).deleted_tags).toBe(1);
      expect(existsSync(join(alone.dataDir, "retention.db"))).toBe(true);
      expect((await alone.call(RESTORE, "", { name: "team/solo", tag: "v1" })).status).toBe(200);
    } finally {
      await alone.close();
    }
  });
});
