/**
 * The webhook queue shared by replicas through PostgreSQL: queue instances opened as replicas
 * open them (different replica ids, one database, each its own connection pool) drain one
 * queue together; each delivery is sent by one of them, a claim left by a replica that died
 * is taken over, and the admin API answers the same from each.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { registerApi } from "../../../plugins/webhook/api.ts";
import { type Endpoint, resolveEndpoint, validateWebhookConfig } from "../../../plugins/webhook/config.ts";
import { createWebhookPlugin } from "../../../plugins/webhook/index.ts";
import { DeliveryQueue } from "../../../plugins/webhook/queue.ts";
import { EndpointWorker, type Sender } from "../../../plugins/webhook/worker.ts";
import { send } from "../../../plugins/webhook/sender.ts";
import { Leases } from "../../../src/cluster/leases.ts";
import { CLUSTER_SCHEMA } from "../../../src/cluster/schema.ts";
import type { PluginContext, RouteHandler } from "../../../src/hooks/types.ts";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { queuedEvent as event } from "./support.ts";
import { eventually } from "../../helpers/oci.ts";

const onPostgres = metadataBackends().includes("postgres");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A receiver on loopback that counts each X-Berth-Delivery it gets. */
function startReceiver(delayMs = 0): { url: string; seen: Map<string, number>; total: () => number } {
  const seen = new Map<string, number>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (request) => {
      await request.text();
      const id = request.headers.get("x-berth-delivery") ?? "";
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (delayMs > 0) await Bun.sleep(delayMs);
      return new Response(null, { status: 204 });
    },
  });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/hook`, seen, total: () => [...seen.values()].reduce((a, b) => a + b, 0) };
}

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase("berth_webhook_queue");
  cleanups.push(() => db.drop());
  return db;
}

/** One replica's view: its own pool to the shared database and its queue. */
async function replica(db: TestDatabase, id: string): Promise<{ sql: SQL; queue: DeliveryQueue }> {
  const sql = new SQL(db.url, { max: 4 });
  const dir = tempDir("berth-webhook-shared-");
  const queue = await DeliveryQueue.open(dir, { replica: id, database: sql });
  cleanups.push(async () => {
    await queue.close();
    await sql.close();
    removeDir(dir);
  });
  return { sql, queue };
}

function endpointFor(url: string, concurrency = 4): Endpoint {
  const [config] = validateWebhookConfig({ endpoints: [{ name: "ci", url, concurrency, retry: { backoff: "100ms", max_backoff: "200ms" } }] }).endpoints;
  if (!config) throw new Error("no endpoint");
  return resolveEndpoint(config);
}

function startWorker(endpoint: Endpoint, queue: DeliveryQueue, sender: Sender = send): EndpointWorker {
  const worker = new EndpointWorker(endpoint, queue, () => {}, sender);
  worker.start();
  cleanups.push(() => worker.stop());
  return worker;
}

/** The admin API of one replica, called without HTTP. */
function adminApi(queue: DeliveryQueue, endpoint: Endpoint): (method: "GET" | "POST", path: string) => Promise<Response> {
  const routes = new Map<string, RouteHandler>();
  registerApi({ route: (method, path, handler) => void routes.set(`${method} ${path}`, handler) }, { queue, endpoints: () => [endpoint], requeued: () => {} });
  return async (method, path) => {
    const url = new URL(`http://berth${path}`);
    const handler = routes.get(`${method} ${url.pathname}`) ?? routes.get(`${method} /api/webhooks/deliveries/*`);
    if (!handler) throw new Error(`no route for ${method} ${path}`);
    return handler(new Request(url, { method }), { url, path: {} });
  };
}

describe.skipIf(!onPostgres)("webhook queue shared by replicas (PostgreSQL)", () => {
  test("three replicas drain 200 events together: each delivery is received exactly once, none is lost", async () => {
    const db = await freshDatabase();
    const replicas = await Promise.all(["a", "b", "c"].map((id) => replica(db, id)));
    const receiver = startReceiver(5); // slow enough that every replica's worker gets a share
    const endpoint = endpointFor(receiver.url);
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { queue } = replicas[i % replicas.length] ?? {};
      if (!queue) throw new Error("no replica");
      ids.push(...(await queue.enqueue(event(`e${i}`), ["ci"])));
    }
    const sentBy = new Map<string, number>();
    for (const [i, { queue }] of replicas.entries()) {
      startWorker(endpoint, queue, (target, input) => {
        sentBy.set(String(i), (sentBy.get(String(i)) ?? 0) + 1);
        return send(target, input);
      });
    }
    const [first] = replicas;
    if (!first) throw new Error("no replica");
    await eventually("every delivery recorded as delivered", async () => (await first.queue.counts("ci")).delivered === 200);
    expect(receiver.seen.size).toBe(200);
    expect([...receiver.seen.keys()].sort()).toEqual([...ids].sort());
    expect([...receiver.seen.values()].every((count) => count === 1)).toBe(true);
    expect(receiver.total()).toBe(200);
    expect(sentBy.size).toBeGreaterThanOrEqual(2); // the work was shared, not done by one replica
    for (const { queue } of replicas) expect(await queue.counts("ci")).toEqual({ pending: 0, delivered: 200, dead: 0 });
  });

  test("a claim left by a replica that died is taken over once it runs out, and the dead replica cannot record", async () => {
    const db = await freshDatabase();
    const a = await replica(db, "a");
    const b = await replica(db, "b");
    const receiver = startReceiver();
    const [id] = await a.queue.enqueue(event("e1"), ["ci"]);
    const [claimed] = await a.queue.due("ci", Date.now(), 10, 1_500); // a claims it, then dies: no send, no outcome
    expect(claimed?.id).toBe(id as string);
    expect(await b.queue.due("ci", Date.now(), 10, 60_000)).toEqual([]); // the claim holds
    startWorker(endpointFor(receiver.url), b.queue);
    await eventually("b delivers it after a's claim ran out", async () => (await b.queue.get(id as string))?.delivery.status === "delivered");
    expect(receiver.seen.get(id as string)).toBe(1);
    // a comes back with a stale outcome: not recorded (the row stays as b left it)
    await a.queue.markFailed(id as string, { now: Date.now(), statusCode: 500, error: "HTTP 500" }, null, claimed?.queuedAt ?? -1);
    const after = await a.queue.get(id as string);
    expect(after?.delivery.status).toBe("delivered");
    expect(after?.delivery.attempts).toBe(1);
  });

  test("a delivery made by replica A is redelivered through replica B's admin API; both list the same deliveries", async () => {
    const db = await freshDatabase();
    const a = await replica(db, "a");
    const b = await replica(db, "b");
    const receiver = startReceiver();
    const endpoint = endpointFor(receiver.url);
    const [id] = await a.queue.enqueue(event("e1"), ["ci"]);
    await a.queue.enqueue(event("e2"), ["ci"]);
    startWorker(endpoint, a.queue);
    await eventually("a delivers both", async () => (await a.queue.counts("ci")).delivered === 2);
    const apiA = adminApi(a.queue, endpoint);
    const apiB = adminApi(b.queue, endpoint);
    const listing = async (api: typeof apiA) => (await api("GET", "/api/webhooks/deliveries?endpoint=ci")).json();
    expect(await listing(apiB)).toEqual(await listing(apiA));
    expect(await (await apiB("GET", `/api/webhooks/deliveries/${id}`)).json()).toEqual(await (await apiA("GET", `/api/webhooks/deliveries/${id}`)).json());

    const redeliver = await apiB("POST", `/api/webhooks/deliveries/${id}/redeliver`);
    expect(redeliver.status).toBe(202);
    startWorker(endpoint, b.queue);
    await eventually("the redelivery goes out with the same delivery id", () => receiver.seen.get(id as string) === 2);
    await eventually("and is recorded", async () => (await b.queue.get(id as string))?.delivery.status === "delivered");
    expect(await listing(apiA)).toEqual(await listing(apiB));
    expect(receiver.total()).toBe(3);
  });

  test("old deliveries are pruned by one replica: the other finds the lease taken or nothing left", async () => {
    const db = await freshDatabase();
    const a = await replica(db, "a");
    const day = 86_400_000;
    const now = Date.now();
    const old = await Promise.all(["e1", "e2", "e3"].map((name) => a.queue.enqueue(event(name), ["ci"], now - 10 * day)));
    const claimed = await a.queue.due("ci", now, 10, 60_000);
    for (const delivery of claimed) await a.queue.markDelivered(delivery.id, { now: now - 9 * day, statusCode: 200, error: null }, delivery.queuedAt);
    await a.queue.enqueue(event("fresh"), ["ci"]);
    expect(old.flat()).toHaveLength(3);

    const pruned: number[] = [];
    // the registry creates the cluster's tables at start; here once, before both "replicas"
    for (const statement of CLUSTER_SCHEMA) await a.sql.unsafe(statement);
    const setups = ["r1", "r2"].map(async (id) => {
      const sql = new SQL(db.url, { max: 2 });
      const leases = new Leases(sql, id, () => {});
      const dir = tempDir("berth-webhook-prune-");
      const plugin = createWebhookPlugin(validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://127.0.0.1:9/hook" }] }));
      cleanups.push(async () => {
        await plugin.close?.();
        await sql.close();
        removeDir(dir);
      });
      const ctx = pluginContext(dir, {
        replica: id,
        database: sql,
        exclusive: (name, work) => leases.run(`plugin:webhook:${name}`, work),
      }, (message, fields) => {
        if (message === "pruned old webhook deliveries") pruned.push(Number(fields?.count));
      });
      await plugin.setup(ctx);
    });
    await Promise.all(setups);
    expect(pruned).toEqual([3]);
    expect((await a.queue.list({ limit: 10 })).map((d) => d.eventId)).toEqual(["fresh"]);
  });
});

function pluginContext(dataDir: string, cluster: PluginContext["cluster"], log: (message: string, fields?: Record<string, unknown>) => void): PluginContext {
  return {
    deny: (message: string): never => {
      throw new Error(message);
    },
    before: () => {},
    on: () => {},
    every: () => {},
    route: () => {},
    registry: {
      repositories: async () => [], tags: async () => [], manifest: async () => null, blob: async () => null, blobContent: async () => null, deleteTag: async () => {}, deleteManifest: async () => {},
      repositoryFacts: async () => null, tagFacts: async () => null, manifestFacts: async () => null,
      manifests: async () => null, storedBytes: async () => 0, freedBytes: async () => 0, tagManifest: async () => {},
      usage: async () => ({ storedBytes: 0, storedBlobs: 0, referencedBytes: 0, gcWaitingBytes: 0, gcWaitingBlobs: 0, uploadsInProgress: 0, repositories: [], namespaces: [] }),
    },
    options: {},
    dataDir,
    log: (_level, message, fields) => log(message, fields),
    metrics: new MetricsRegistry(),
    cluster,
    audit: () => {},
  };
}
