/**
 * At-least-once delivery against a real Berth: a receiver that is down for a while, Berth
 * killed with SIGKILL right after acknowledging pushes, dead-lettering when the policy gives
 * up, and 1,000 pushes delivered exactly once each to two endpoints.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { removeDir, startBerth, tempDir, withServerLog, type BerthProcess } from "../../helpers/server.ts";
import { eventsOf, pool, prepareImage, putManifest, type Received, TestReceiver, writeConfig } from "./support.ts";

const BLOB = "application/octet-stream";

interface Delivery {
  id: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  tag: string | null;
}

let berth: BerthProcess | undefined;
let receiver: TestReceiver | undefined;
const dirs: string[] = [];
const logs = () => [berth];
/** bun ignores bunfig's [test] timeout, so each test names its own limit */
const logged = (name: string, body: () => Promise<void>, timeoutMs = 30_000) => test(name, withServerLog(logs, body), timeoutMs);

afterEach(async () => {
  await berth?.stop();
  await receiver?.down();
  berth = undefined;
  receiver = undefined;
  for (const dir of dirs.splice(0)) removeDir(dir);
});

async function deliveries(base: string, endpoint: string, limit = 1000): Promise<Delivery[]> {
  const res = await fetch(`${base}/api/webhooks/deliveries?endpoint=${endpoint}&limit=${limit}`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
}

/** Polls the deliveries API until `check` holds (the worker records an outcome just after the receiver sees it). */
async function deliveriesWhen(base: string, endpoint: string, check: (rows: Delivery[]) => boolean, timeoutMs = 5_000): Promise<Delivery[]> {
  const deadline = Date.now() + timeoutMs;
  let rows = await deliveries(base, endpoint);
  while (Date.now() < deadline && !check(rows)) {
    await Bun.sleep(25);
    rows = await deliveries(base, endpoint);
  }
  return rows;
}

function tagsIn(requests: Received[]): string[] {
  return requests.flatMap(eventsOf).map((e) => e.target.tag ?? "");
}

function fresh(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
}

describe("webhook delivery", () => {
  logged("a receiver that is down for a while gets every event, in order, once it is back", async () => {
    receiver = await TestReceiver.start();
    await receiver.down();
    const dir = fresh("berth-webhook-outage-");
    const config = writeConfig(dir, {
      endpoints: [
        {
          name: "ci",
          url: receiver.url("/ci"),
          ignored_media_types: [BLOB],
          retry: { backoff: "100ms", max_backoff: "400ms", max_attempts: 0 },
        },
      ],
    });
    berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
    const image = await prepareImage(berth.url, "app");
    const tags = Array.from({ length: 10 }, (_, i) => `t${i}`);
    for (const tag of tags) await putManifest(berth.url, "app", tag, image.manifest);
    await Bun.sleep(1_000);

    const waiting = await deliveries(berth.url, "ci");
    expect(waiting).toHaveLength(10);
    expect(waiting.every((d) => d.status === "pending")).toBe(true);
    const tried = waiting.filter((d) => d.attempts > 0);
    // the worker probes one delivery per backoff period instead of hammering the endpoint with all ten
    expect(tried.length).toBeGreaterThanOrEqual(1);
    expect(tried.length).toBeLessThan(10);
    expect(tried[0]?.lastError).toBeTruthy();
    expect(tried[0]?.lastStatusCode).toBeNull();

    receiver.up();
    await receiver.until(() => (receiver?.on("/ci").length ?? 0) >= 10, 10_000, "10 events after the outage");
    expect(tagsIn(receiver.on("/ci"))).toEqual(tags);
    const after = await deliveriesWhen(berth.url, "ci", (rows) => rows.every((d) => d.status === "delivered"));
    expect(after.filter((d) => d.status === "delivered")).toHaveLength(10);
  });

  logged("Berth killed with SIGKILL right after acknowledging pushes delivers them all after a restart", async () => {
    // the receiver answers 503 until Berth has been killed, so nothing counts as delivered before
    let accepting = false;
    receiver = await TestReceiver.start(() => (accepting ? 200 : 503));
    const dir = fresh("berth-webhook-kill-");
    const config = writeConfig(dir, {
      endpoints: [{ name: "ci", url: receiver.url("/ci"), ignored_media_types: [BLOB], retry: { backoff: "50ms", max_backoff: "100ms", max_attempts: 0 } }],
    });
    berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
    const image = await prepareImage(berth.url, "app");
    const tags = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const tag of tags) await putManifest(berth.url, "app", tag, image.manifest);
    await berth.kill9();
    accepting = true;
    const seenBefore = receiver.on("/ci").length;

    berth = await startBerth({ root: dir, port: berth.port, args: ["serve", "--config", config] });
    await receiver.until(() => new Set(tagsIn(receiver?.on("/ci").slice(seenBefore) ?? [])).size === 20, 15_000, "20 events after the restart");
    const accepted = receiver.on("/ci").slice(seenBefore);
    expect(new Set(tagsIn(accepted))).toEqual(new Set(tags));
    const rows = await deliveriesWhen(berth.url, "ci", (all) => all.every((d) => d.status === "delivered"));
    expect(rows.filter((d) => d.status === "delivered")).toHaveLength(20);
  });

  // The registry answers only after the webhook queue (a durable listener) recorded the event.
  logged("the very last push before SIGKILL is not lost even when the receiver is healthy", async () => {
    receiver = await TestReceiver.start();
    const dir = fresh("berth-webhook-kill-last-");
    const config = writeConfig(dir, { endpoints: [{ name: "ci", url: receiver.url("/ci"), ignored_media_types: [BLOB] }] });
    berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
    const image = await prepareImage(berth.url, "app");
    await putManifest(berth.url, "app", "last", image.manifest);
    await berth.kill9();
    berth = await startBerth({ root: dir, port: berth.port, args: ["serve", "--config", config] });
    // at least once: it may have gone out before the kill, and again after the restart
    await receiver.until(() => tagsIn(receiver?.on("/ci") ?? []).includes("last"), 5_000, "the last push event");
  });

  logged("a delivery is dead-lettered after max_attempts, kept, and can be redelivered", async () => {
    let status = 500;
    receiver = await TestReceiver.start(() => status);
    const dir = fresh("berth-webhook-dead-");
    const config = writeConfig(dir, {
      endpoints: [
        { name: "doomed", url: receiver.url("/doomed"), ignored_media_types: [BLOB], retry: { backoff: "20ms", max_backoff: "50ms", max_attempts: 3 } },
        { name: "aged", url: receiver.url("/aged"), ignored_media_types: [BLOB], retry: { backoff: "50ms", max_backoff: "100ms", max_attempts: 0, max_age: "400ms" } },
      ],
    });
    berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
    const image = await prepareImage(berth.url, "app");
    await putManifest(berth.url, "app", "a", image.manifest);
    await putManifest(berth.url, "app", "b", image.manifest);

    const base = berth.url;
    const allDead = (rows: Delivery[]) => rows.length === 2 && rows.every((d) => d.status === "dead");
    const doomed = await deliveriesWhen(base, "doomed", allDead, 10_000);
    expect(doomed).toHaveLength(2);
    for (const d of doomed) expect(d).toMatchObject({ status: "dead", attempts: 3, lastStatusCode: 500, lastError: "HTTP 500" });
    expect(receiver.on("/doomed")).toHaveLength(6);
    const aged = await deliveriesWhen(base, "aged", allDead, 10_000);
    expect(aged.map((d) => d.status)).toEqual(["dead", "dead"]);
    for (const d of aged) expect(d.attempts).toBeGreaterThanOrEqual(1);
    const deadList = (await (await fetch(`${base}/api/webhooks/deliveries?endpoint=doomed&status=dead`)).json()) as { deliveries: Delivery[] };
    expect(deadList.deliveries).toHaveLength(2);

    status = 200;
    const target = doomed.find((d) => d.tag === "a");
    if (!target) throw new Error("no delivery for tag a");
    expect((await fetch(`${base}/api/webhooks/deliveries/${target.id}/redeliver`, { method: "POST" })).status).toBe(202);
    await receiver.until(() => receiver?.on("/doomed").length === 7, 5_000, "the redelivery");
    const after = await deliveriesWhen(base, "doomed", (rows) => rows.some((d) => d.status === "delivered"));
    expect(after.find((d) => d.id === target.id)).toMatchObject({ status: "delivered", attempts: 1, lastStatusCode: 200 });
    expect(after.find((d) => d.id !== target.id)).toMatchObject({ status: "dead" });

    // with the endpoint gone from the configuration, no worker could send it: 409, not 202
    const other = after.find((d) => d.id !== target.id);
    if (!other) throw new Error("no second delivery");
    await berth.stop();
    const without = writeConfig(dir, { endpoints: [{ name: "aged", url: receiver.url("/aged"), ignored_media_types: [BLOB] }] });
    berth = await startBerth({ root: dir, args: ["serve", "--config", without] });
    const refused = await fetch(`${berth.url}/api/webhooks/deliveries/${other.id}/redeliver`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { errors: Array<{ message: string }> }).errors[0]?.message).toContain("doomed is not configured");
  });

  logged(
    "1,000 pushes in a row deliver 1,000 push events to each of two endpoints, none duplicated",
    async () => {
      receiver = await TestReceiver.start();
      const dir = fresh("berth-webhook-1000-");
      const config = writeConfig(dir, {
        endpoints: [
          { name: "one", url: receiver.url("/one"), actions: ["push"], ignored_media_types: [BLOB] },
          { name: "two", url: receiver.url("/two"), actions: ["push"], ignored_media_types: [BLOB], format: "cloudevents" },
        ],
      });
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
      const image = await prepareImage(berth.url, "bulk");
      const base = berth.url;
      const count = 1000;
      const started = performance.now();
      await pool(count, 8, async (i) => {
        await putManifest(base, "bulk", `t${i}`, image.manifest);
      });
      const pushed = performance.now();
      await receiver.until(() => receiver?.on("/one").length === count && receiver.on("/two").length === count, 60_000, "1,000 events per endpoint");
      const delivered = performance.now();
      await Bun.sleep(300); // a duplicate would arrive now
      const expected = new Set(Array.from({ length: count }, (_, i) => `t${i}`));
      const one = receiver.on("/one");
      const two = receiver.on("/two");
      expect(one).toHaveLength(count);
      expect(two).toHaveLength(count);
      expect(new Set(tagsIn(one))).toEqual(expected);
      const ceTags = two.map((r) => (r.json as { data: { target: { tag: string } } }).data.target.tag);
      expect(new Set(ceTags)).toEqual(expected);
      expect(new Set(one.map((r) => r.headers["x-berth-event-id"])).size).toBe(count);
      expect(new Set(two.map((r) => r.headers["x-berth-event-id"])).size).toBe(count);
      const seconds = (delivered - started) / 1000;
      console.log(
        `[webhook] 1000 pushes in ${((pushed - started) / 1000).toFixed(2)} s; all 2000 deliveries done ${seconds.toFixed(2)} s after the first push ` +
          `(${Math.round((2 * count) / seconds)} deliveries/s)`,
      );
    },
    90_000,
  );
});
