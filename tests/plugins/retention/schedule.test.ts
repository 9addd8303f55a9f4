/**
 * A scheduled policy against the compiled binary: it runs by itself, its deletions reach a
 * webhook receiver as `delete` events, and the core's untagged GC leaves a manifest alone while
 * retention can still restore it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runGc } from "../../helpers/gc.ts";
import { call, expectStatus, isRecord } from "../../helpers/oci.ts";
import { type ConfiguredBerth, pushImage, startWithConfig, tagList } from "./support.ts";

interface Received {
  action: string;
  repository: string;
  tag?: string;
}

const received: Received[] = [];
let receiver: ReturnType<typeof Bun.serve>;
let server: ConfiguredBerth;

beforeAll(async () => {
  receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body: unknown = await request.json();
      const events = isRecord(body) && Array.isArray(body.events) ? body.events : [];
      for (const event of events) {
        if (!isRecord(event) || !isRecord(event.target) || typeof event.action !== "string" || typeof event.target.repository !== "string") continue;
        received.push({ action: event.action, repository: event.target.repository, ...(typeof event.target.tag === "string" ? { tag: event.target.tag } : {}) });
      }
      return new Response(null, { status: 200 });
    },
  });
  server = await startWithConfig(`
[gc]
delay = "0s"
untagged = "1s"

[[webhook.endpoints]]
name = "test"
url = "http://127.0.0.1:${receiver.port}/events"
actions = ["delete"]

[[retention.policies]]
repositories = ["sched/**"]
schedule = "1s"
  [[retention.policies.rules]]
  most_recent = 1
`);
});
afterAll(async () => {
  await server?.stop();
  receiver?.stop(true);
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 150 && Date.now() < deadline; i++) {
    if (await check()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("a scheduled run deletes by itself, webhooks hear it, and untagged GC waits for the undo window", async () => {
  const base = server.berth.url;
  const old = await pushImage(base, "sched/app", "old");
  await pushImage(base, "sched/app", "new");
  await until(async () => !(await tagList(base, "sched/app")).includes("old"), "the scheduled run to remove sched/app:old");
  expect(await tagList(base, "sched/app")).toEqual(["new"]);
  await until(async () => received.some((e) => e.action === "delete" && e.repository === "sched/app" && e.tag === "old"), "the delete event");

  await Bun.sleep(1_100); // past gc.untagged (1s): the core would now take the untagged manifest
  const report = await runGc(base);
  expect(report.manifestsDeleted).toBe(0);
  expectStatus(await call(base, `/v2/sched/app/manifests/${old.digest}`, { method: "HEAD" }), 200);
});
