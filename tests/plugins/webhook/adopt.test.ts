/**
 * A single Berth's webhook queue (SQLite) adopted by the first replica on the shared database:
 * every delivery keeps its id and status, a pending one (even one claimed when the process
 * stopped) is sent with the same X-Berth-Delivery, the file is renamed and never adopted
 * twice; adopting it again (a failed rename) duplicates nothing; a corrupt file is left.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Endpoint, resolveEndpoint, validateWebhookConfig } from "../../../plugins/webhook/config.ts";
import { DeliveryQueue } from "../../../plugins/webhook/queue.ts";
import { EndpointWorker } from "../../../plugins/webhook/worker.ts";
import type { RegistryEvent } from "../../../src/hooks/types.ts";
import { metadataBackends } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { adoptedCopy, captureLog, filesNamed, restoreAdopted, type SharedDatabase, sharedDatabase, writeCorrupt } from "../adoption.ts";

function event(id: string): RegistryEvent {
  return {
    id,
    timestamp: new Date().toISOString(),
    action: "push",
    target: { mediaType: "application/octet-stream", digest: `sha256:${"b".repeat(64)}`, size: 1, length: 1, repository: "app", tag: id, url: "http://r/v2/app" },
    request: { id: "r", addr: "127.0.0.1", host: "r", method: "PUT", useragent: "test" },
    actor: { name: "" },
    source: { addr: "r:5000", instanceID: "i" },
  };
}

function endpointFor(url: string): Endpoint {
  const [config] = validateWebhookConfig({ endpoints: [{ name: "ci", url, retry: { backoff: "100ms", max_backoff: "200ms" } }] }).endpoints;
  if (!config) throw new Error("no endpoint");
  return resolveEndpoint(config);
}

describe.skipIf(!metadataBackends().includes("postgres"))("webhook deliveries of a single Berth adopted into the shared database", () => {
  let shared: SharedDatabase;
  const dirs: string[] = [];
  const ids: Record<"pending" | "dead" | "delivered", string> = { pending: "", dead: "", delivered: "" };
  let dir = "";

  beforeAll(async () => {
    shared = await sharedDatabase("berth_adopt_webhook");
    dir = tempDir("berth-adopt-webhook-");
    dirs.push(dir);
    // the single Berth: SQLite in its data directory, written through the queue's own API
    const alone = await DeliveryQueue.open(dir);
    const now = Date.now();
    ids.delivered = (await alone.enqueue(event("e1"), ["ci"], now - 3_000)).join();
    ids.dead = (await alone.enqueue(event("e2"), ["ci"], now - 2_000)).join();
    ids.pending = (await alone.enqueue(event("e3"), ["ci"], now - 1_000)).join();
    const [delivered, dead] = await alone.due("ci", now, 2, 60_000);
    if (!delivered || !dead) throw new Error("nothing due");
    await alone.markDelivered(delivered.id, { now, statusCode: 204, error: null }, delivered.queuedAt);
    await alone.markFailed(dead.id, { now, statusCode: 500, error: "HTTP 500" }, null, dead.queuedAt);
    // the pending one was being sent when the process stopped: claimed for an hour
    expect((await alone.due("ci", now, 10, 3_600_000)).map((d) => d.id)).toEqual([ids.pending]);
    await alone.close();
  });

  afterAll(async () => {
    await shared?.close();
    for (const path of dirs) removeDir(path);
  });

  test("the first open on the shared database copies every delivery with its id, renames the file and logs the count", async () => {
    const { lines, log } = captureLog();
    const queue = await DeliveryQueue.open(dir, { replica: "r1", database: shared.sql }, log);
    try {
      expect(existsSync(join(dir, "queue.db"))).toBe(false);
      expect(filesNamed(dir, "queue.db").every((name) => name.startsWith("queue.db.adopted-"))).toBe(true);
      adoptedCopy(dir, "queue.db");
      const info = lines.filter((line) => line.level === "info");
      expect(info).toHaveLength(1);
      expect(info[0]?.fields.webhook_deliveries).toBe(3);
      expect(lines.filter((line) => line.level === "warn")).toEqual([]);

      const listed = await queue.list({ endpoint: "ci", limit: 10 });
      expect(listed.map((d) => [d.id, d.status])).toEqual([[ids.pending, "pending"], [ids.dead, "dead"], [ids.delivered, "delivered"]]);
      expect((await queue.get(ids.dead))?.delivery.lastError).toBe("HTTP 500");
      expect((await queue.get(ids.pending))?.event?.id).toBe("e3");
    } finally {
      await queue.close();
    }
  });

  test("the pending delivery is due at once (its old claim cleared) and is sent with the same X-Berth-Delivery", async () => {
    const seen: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (request) => {
        await request.text();
        seen.push(request.headers.get("x-berth-delivery") ?? "");
        return new Response(null, { status: 204 });
      },
    });
    const queue = await DeliveryQueue.open(dir, { replica: "r2", database: shared.sql });
    const worker = new EndpointWorker(endpointFor(`http://127.0.0.1:${server.port}/hook`), queue, () => {});
    try {
      worker.start();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await queue.get(ids.pending))?.delivery.status !== "delivered") await Bun.sleep(50);
      expect((await queue.get(ids.pending))?.delivery.status).toBe("delivered");
      expect(seen).toEqual([ids.pending]);
      expect(await queue.counts("ci")).toEqual({ pending: 0, delivered: 2, dead: 1 });
    } finally {
      await worker.stop();
      await queue.close();
      await server.stop(true);
    }
  });

  test("opening again adopts nothing; the same file put back (a rename that failed) adds no row", async () => {
    const again = captureLog();
    const queue = await DeliveryQueue.open(dir, { replica: "r1", database: shared.sql }, again.log);
    await queue.close();
    expect(again.lines).toEqual([]);

    restoreAdopted(dir, "queue.db");
    const once = captureLog();
    const reopened = await DeliveryQueue.open(dir, { replica: "r1", database: shared.sql }, once.log);
    try {
      expect(once.lines.find((line) => line.level === "info")?.fields.webhook_deliveries).toBe(0);
      expect(existsSync(join(dir, "queue.db"))).toBe(false);
      expect(await reopened.counts("ci")).toEqual({ pending: 0, delivered: 2, dead: 1 });
    } finally {
      await reopened.close();
    }
  });

  test("a file that is not a database is left in place with a warning; the queue opens", async () => {
    const corruptDir = tempDir("berth-adopt-webhook-corrupt-");
    dirs.push(corruptDir);
    const garbage = writeCorrupt(corruptDir, "queue.db");
    const { lines, log } = captureLog();
    const queue = await DeliveryQueue.open(corruptDir, { replica: "r1", database: shared.sql }, log);
    try {
      expect(lines.map((line) => line.level)).toEqual(["warn"]);
      expect(lines[0]?.message).toContain(join(corruptDir, "queue.db"));
      expect(readFileSync(join(corruptDir, "queue.db"), "utf8")).toBe(garbage);
      expect(await queue.counts("ci")).toEqual({ pending: 0, delivered: 2, dead: 1 });
    } finally {
      await queue.close();
    }
  });
});
