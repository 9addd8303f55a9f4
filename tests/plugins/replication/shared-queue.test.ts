/**
 * The replication queue shared by replicas through PostgreSQL: two workers of one rule, on
 * two queue instances opened as two replicas open them, run each job once; a job whose claim
 * was left by a replica that died is run by the other once the claim runs out.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { validateReplicationConfig, type Rule } from "../../../plugins/replication/config.ts";
import { ReplicationQueue } from "../../../plugins/replication/queue.ts";
import { RuleWorker } from "../../../plugins/replication/worker.ts";
import type { RegistryReader } from "../../../src/hooks/types.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { eventually } from "../../helpers/oci.ts";

const onPostgres = metadataBackends().includes("postgres");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A target registry that accepts manifest DELETEs and counts them by path. */
function startTarget(): { url: string; deletes: Map<string, number> } {
  const deletes = new Map<string, number>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== "DELETE") return new Response(null, { status: 405 });
      deletes.set(path, (deletes.get(path) ?? 0) + 1);
      await Bun.sleep(5); // slow enough that both workers get a share
      return new Response(null, { status: 202 });
    },
  });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, deletes };
}

async function replica(db: TestDatabase, id: string): Promise<ReplicationQueue> {
  const sql = new SQL(db.url, { max: 4 });
  const dir = tempDir("berth-replication-shared-");
  const queue = await ReplicationQueue.open(dir, { replica: id, database: sql });
  cleanups.push(async () => {
    await queue.close();
    await sql.close();
    removeDir(dir);
  });
  return queue;
}

function ruleFor(url: string): Rule {
  const [rule] = validateReplicationConfig([{ name: "standby", url, deletes: true }]);
  if (!rule) throw new Error("no rule");
  return rule;
}

/** Deletes need nothing from the registry: a reader that has nothing. */
const nothing: RegistryReader = {
  repositories: async () => [], tags: async () => [], manifest: async () => null, blob: async () => null, blobContent: async () => null,
  repositoryFacts: async () => null, tagFacts: async () => null, manifestFacts: async () => null,
  manifests: async () => null, storedBytes: async () => 0, freedBytes: async () => 0,
  usage: async () => ({ storedBytes: 0, storedBlobs: 0, referencedBytes: 0, gcWaitingBytes: 0, gcWaitingBlobs: 0, uploadsInProgress: 0, repositories: [], namespaces: [] }),
};

function startWorker(rule: Rule, queue: ReplicationQueue): RuleWorker {
  const worker = new RuleWorker(rule, queue, nothing, () => {});
  worker.start();
  cleanups.push(() => worker.stop());
  return worker;
}

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;

describe.skipIf(!onPostgres)("replication queue shared by replicas (PostgreSQL)", () => {
  test("two replicas' workers run 60 jobs together, each once", async () => {
    const db = await createTestDatabase("berth_replication_queue");
    cleanups.push(() => db.drop());
    const [a, b] = [await replica(db, "a"), await replica(db, "b")];
    const target = startTarget();
    const rule = ruleFor(target.url);
    for (let i = 0; i < 60; i++) await (i % 2 === 0 ? a : b).enqueue(rule.name, "delete-digest", "app", digest(i), digest(i));
    startWorker(rule, a);
    startWorker(rule, b);
    await eventually("every job done", async () => (await a.state(rule.name)).pending === 0);
    expect(target.deletes.size).toBe(60);
    expect([...target.deletes.values()].every((count) => count === 1)).toBe(true);
    const state = await b.state(rule.name);
    expect(state.pending).toBe(0);
    expect(state.lastSuccessAt).not.toBeNull();
  });

  test("a job claimed by a replica that died is run by the other once the claim runs out", async () => {
    const db = await createTestDatabase("berth_replication_queue");
    cleanups.push(() => db.drop());
    const [a, b] = [await replica(db, "a"), await replica(db, "b")];
    const target = startTarget();
    const rule = ruleFor(target.url);
    await a.enqueue(rule.name, "delete-digest", "app", digest(1), digest(1));
    const claimed = await a.due(rule.name, Date.now(), 1_500); // a claims it, then dies
    expect(claimed?.reference).toBe(digest(1));
    expect(await b.due(rule.name, Date.now(), 60_000)).toBeNull(); // the claim holds
    startWorker(rule, b);
    await eventually("b runs it after a's claim ran out", async () => (await b.state(rule.name)).pending === 0);
    expect(target.deletes.get(`/v2/app/manifests/${digest(1)}`)).toBe(1);
    // a comes back with a stale failure: not recorded, and the job stays done
    if (claimed) await a.failed(claimed, "late", Date.now() + 60_000, Date.now());
    expect((await a.state(rule.name)).pending).toBe(0);
  });
});
