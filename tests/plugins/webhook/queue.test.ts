import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { DeliveryQueue } from "../../../plugins/webhook/queue.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { queuedEvent as event } from "./support.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe("webhook queue pruning", () => {
  test("delivered rows go after keep_delivered, dead rows after keep_dead, pending rows never", async () => {
    const dir = tempDir("berth-queue-");
    dirs.push(dir);
    const queue = await DeliveryQueue.open(dir);
    try {
      const day = 86_400_000;
      const now = Date.now();
      const [delivered] = await queue.enqueue(event("e1"), ["ci"], now - 10 * day);
      const [dead] = await queue.enqueue(event("e2"), ["ci"], now - 40 * day);
      const [deadRecent] = await queue.enqueue(event("e3"), ["ci"], now - 2 * day);
      await queue.enqueue(event("e4"), ["ci"], now - 90 * day); // pending: kept whatever its age
      const claimed = await queue.due("ci", now, 10, 60_000); // an outcome is recorded only by the claimer
      const queuedAt = (id: string | undefined) => claimed.find((d) => d.id === id)?.queuedAt ?? -1;
      await queue.markDelivered(delivered as string, { now: now - 9 * day, statusCode: 200, error: null }, queuedAt(delivered));
      await queue.markFailed(dead as string, { now: now - 39 * day, statusCode: 500, error: "HTTP 500" }, null, queuedAt(dead));
      await queue.markFailed(deadRecent as string, { now: now - day, statusCode: 500, error: "HTTP 500" }, null, queuedAt(deadRecent));
      expect(await queue.prune(now - 7 * day, now - 30 * day)).toBe(2);
      const left = await queue.list({ limit: 10 });
      expect(left.map((d) => d.eventId).sort()).toEqual(["e3", "e4"]);
    } finally {
      await queue.close();
    }
  });
});

describe("webhook queue redelivery", () => {
  test("a redelivery requested while an attempt is in flight is not overwritten by that attempt's outcome", async () => {
    const dir = tempDir("berth-queue-");
    dirs.push(dir);
    const queue = await DeliveryQueue.open(dir);
    try {
      const [id] = await queue.enqueue(event("e1"), ["ci"]);
      const [inFlight] = await queue.due("ci", Date.now() + 1, 10, 60_000); // the sender claimed the row
      expect(await queue.requeue(id as string)).toBe("ci"); // an admin asks to redeliver meanwhile
      await queue.markDelivered(id as string, { now: Date.now(), statusCode: 200, error: null }, inFlight?.queuedAt ?? -1);
      const [again] = await queue.due("ci", Date.now() + 1, 10, 60_000);
      expect(again?.id).toBe(id as string); // still pending: it goes out again
    } finally {
      await queue.close();
    }
  });
});

describe("webhook queue reading", () => {
  test("a delivery whose stored event is damaged is not sent: it goes dead with a reason, the others still go", async () => {
    const dir = tempDir("berth-queue-");
    dirs.push(dir);
    const queue = await DeliveryQueue.open(dir);
    try {
      const [damaged] = await queue.enqueue(event("e1"), ["ci"]);
      const [good] = await queue.enqueue(event("e2"), ["ci"]);
      await queue.close();
      const db = new Database(join(dir, "queue.db"));
      db.run("UPDATE deliveries SET body = ? WHERE id = ?", ['{"id":"e1","action":"push"}', damaged as string]);
      db.close();
      const reopened = await DeliveryQueue.open(dir);
      try {
        const due = await reopened.due("ci", Date.now() + 1, 10, 60_000);
        expect(due.map((d) => d.id)).toEqual([good as string]);
        expect({ ...due[0]?.event, timestamp: "" }).toEqual({ ...event("e2"), timestamp: "" });
        const record = await reopened.get(damaged as string);
        expect(record?.event).toBeNull();
        expect(record?.delivery.status).toBe("dead");
        expect(record?.delivery.lastError).toBe("the stored event cannot be read");
      } finally {
        await reopened.close();
      }
    } catch (error) {
      await queue.close().catch(() => undefined);
      throw error;
    }
  });
});

describe("webhook queue claims in one process (SQLite)", () => {
  test("a file made before claims existed gets their columns, and claims a killed process left are void at the next start", async () => {
    const dir = tempDir("berth-queue-");
    dirs.push(dir);
    const old = new Database(join(dir, "queue.db"));
    old.run(`CREATE TABLE deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, event_id TEXT NOT NULL, endpoint TEXT NOT NULL,
      action TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT, digest TEXT NOT NULL, body TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')), attempts INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL, queued_at INTEGER NOT NULL, next_attempt_at INTEGER, last_attempt_at INTEGER,
      delivered_at INTEGER, last_status INTEGER, last_error TEXT, UNIQUE (event_id, endpoint))`);
    const now = Date.now();
    old.run("INSERT INTO deliveries (id, event_id, endpoint, action, repository, digest, body, status, created_at, queued_at, next_attempt_at) VALUES (?, ?, 'ci', 'push', 'app', ?, ?, 'pending', ?, ?, ?)", [
      "d-old", "e-old", event("e-old").target.digest, JSON.stringify(event("e-old")), now, now, now,
    ]);
    old.close();
    const first = await DeliveryQueue.open(dir);
    const claimed = await first.due("ci", now + 1, 10, 600_000);
    expect(claimed.map((d) => d.id)).toEqual(["d-old"]);
    expect(await first.due("ci", now + 1, 10, 600_000)).toEqual([]); // claimed: not handed out twice
    await first.close(); // "killed" while sending: no outcome recorded
    const second = await DeliveryQueue.open(dir);
    try {
      expect((await second.due("ci", now + 1, 10, 600_000)).map((d) => d.id)).toEqual(["d-old"]);
    } finally {
      await second.close();
    }
  });
});
