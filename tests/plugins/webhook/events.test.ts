/**
 * What a webhook receiver gets: Distribution's event envelope and CloudEvents for push (blob,
 * and manifest with tag), pull, mount and delete; signed headers; filters by action,
 * repository and media type; and the deliveries admin API. One real Berth, one real receiver.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { removeDir, startBerth, tempDir, withServerLog, type BerthProcess } from "../../helpers/server.ts";
import {
  DISTRIBUTION_EVENTS,
  eventsOf,
  getManifest,
  hmac,
  OCI_MANIFEST,
  prepareImage,
  pushBlob,
  putManifest,
  type Received,
  type RegistryEventJson,
  TestReceiver,
  USER_AGENT,
  writeConfig,
} from "./support.ts";

const SECRET = "test-secret-\u00e9";
const BLOB = "application/octet-stream";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Delivery {
  id: string;
  endpoint: string;
  eventId: string;
  action: string;
  repository: string;
  tag: string | null;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

describe("webhook events", () => {
  let berth: BerthProcess | undefined;
  let receiver: TestReceiver | undefined;
  const dirs: string[] = [];
  /** what the scenario in beforeAll did, checked by the tests */
  const done = {
    blob: { digest: "", size: 0, requestId: "" },
    manifest: { digest: "", size: 0, requestId: "" },
    pullRequestId: "",
    mountRequestId: "",
    deleteTagRequestId: "",
    deleteManifestRequestId: "",
    teamDigest: "",
  };

  const logs = () => [berth];
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(logs, body), 30_000);

  function setup(): { berth: BerthProcess; receiver: TestReceiver } {
    if (!berth || !receiver) throw new Error("beforeAll did not finish");
    return { berth, receiver };
  }

  beforeAll(
    withServerLog(logs, async () => {
      receiver = await TestReceiver.start();
      const dir = tempDir("berth-webhook-events-");
      dirs.push(dir);
      const retry = { backoff: "50ms", max_backoff: "200ms" };
      const config = writeConfig(dir, {
        endpoints: [
          { name: "dist", url: receiver.url("/dist"), secret: SECRET, headers: { "X-Custom": "yes" }, retry },
          { name: "ce", url: receiver.url("/ce"), format: "cloudevents", retry },
          { name: "deletes", url: receiver.url("/deletes"), actions: ["delete"], retry },
          { name: "team", url: receiver.url("/team"), repositories: ["team/**"], ignored_media_types: [BLOB], retry },
        ],
      });
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
      const base = berth.url;

      // push a blob, then a manifest by tag; pull it; mount a blob; delete the tag, then the manifest
      const image = await prepareImage(base, "app");
      done.blob = image.layer;
      const put = await putManifest(base, "app", "v1", image.manifest);
      done.manifest = { digest: image.digest, size: image.manifest.byteLength, requestId: put.headers.get("x-request-id") ?? "" };
      const pull = await getManifest(base, "app", "v1");
      expect(pull.status).toBe(200);
      done.pullRequestId = pull.headers.get("x-request-id") ?? "";
      const mount = await fetch(`${base}/v2/other/blobs/uploads/?mount=${image.layer.digest}&from=app`, {
        method: "POST",
        headers: { "User-Agent": USER_AGENT },
      });
      expect(mount.status).toBe(201);
      done.mountRequestId = mount.headers.get("x-request-id") ?? "";
      const deleteTag = await fetch(`${base}/v2/app/manifests/v1`, { method: "DELETE", headers: { "User-Agent": USER_AGENT } });
      expect(deleteTag.status).toBe(202);
      done.deleteTagRequestId = deleteTag.headers.get("x-request-id") ?? "";
      const deleteManifest = await fetch(`${base}/v2/app/manifests/${image.digest}`, { method: "DELETE", headers: { "User-Agent": USER_AGENT } });
      expect(deleteManifest.status).toBe(202);
      done.deleteManifestRequestId = deleteManifest.headers.get("x-request-id") ?? "";

      const team = await prepareImage(base, "team/app");
      await putManifest(base, "team/app", "latest", team.manifest);
      done.teamDigest = team.digest;
      // app: 2 blob pushes, manifest push, pull, mount, 2 deletes; team/app: 2 blob pushes, manifest push
      await receiver.until(() => receiver?.on("/dist").length === 10 && receiver.on("/ce").length === 10, 15_000, "10 events on /dist and /ce");
      await receiver.until(() => receiver?.on("/deletes").length === 2 && receiver.on("/team").length === 1, 5_000, "the filtered endpoints");
    }),
    60_000,
  );

  afterAll(async () => {
    await berth?.stop();
    await receiver?.down();
    for (const dir of dirs) removeDir(dir);
  });

  function distEvents(): Array<{ request: Received; event: RegistryEventJson }> {
    const { receiver } = setup();
    return receiver.on("/dist").map((request) => {
      const events = eventsOf(request);
      expect(events).toHaveLength(1);
      return { request, event: events[0] as RegistryEventJson };
    });
  }

  function find(action: string, predicate: (e: RegistryEventJson) => boolean = () => true): RegistryEventJson {
    const found = distEvents()
      .map((d) => d.event)
      .filter((e) => e.action === action && predicate(e));
    expect(found, `one ${action} event`).toHaveLength(1);
    return found[0] as RegistryEventJson;
  }

  function expectCommon(event: RegistryEventJson, method: string, requestId: string): void {
    const { berth } = setup();
    expect(event.id).toMatch(UUID);
    expect(Math.abs(Date.parse(event.timestamp) - Date.now())).toBeLessThan(60_000);
    expect(event.request).toEqual({ id: requestId, addr: "127.0.0.1", host: berth.host, method, useragent: USER_AGENT });
    expect(event.actor).toEqual({ name: "" });
    expect(event.source.addr).toEndWith(`:${berth.port}`);
    expect(event.source.instanceID).toMatch(UUID);
  }

  logged("a blob push is a push event of application/octet-stream with Distribution's fields", async () => {
    const { berth } = setup();
    const event = find("push", (e) => e.target.digest === done.blob.digest && e.target.repository === "app");
    expect(event.target).toEqual({
      mediaType: BLOB,
      digest: done.blob.digest,
      size: done.blob.size,
      length: done.blob.size,
      repository: "app",
      url: `${berth.url}/v2/app/blobs/${done.blob.digest}`,
    });
    expectCommon(event, "PUT", done.blob.requestId);
  });

  logged("a manifest push by tag carries the tag, the manifest's media type, digest and size", async () => {
    const { berth } = setup();
    const event = find("push", (e) => e.target.mediaType === OCI_MANIFEST && e.target.repository === "app");
    expect(event.target).toEqual({
      mediaType: OCI_MANIFEST,
      digest: done.manifest.digest,
      size: done.manifest.size,
      length: done.manifest.size,
      repository: "app",
      url: `${berth.url}/v2/app/manifests/${done.manifest.digest}`,
      tag: "v1",
    });
    expectCommon(event, "PUT", done.manifest.requestId);
  });

  logged("a manifest GET is a pull event; a mount names the repository it came from", async () => {
    const { berth } = setup();
    const pull = find("pull");
    expect(pull.target).toEqual({
      mediaType: OCI_MANIFEST,
      digest: done.manifest.digest,
      size: done.manifest.size,
      length: done.manifest.size,
      repository: "app",
      url: `${berth.url}/v2/app/manifests/${done.manifest.digest}`,
      tag: "v1",
    });
    expectCommon(pull, "GET", done.pullRequestId);
    const mount = find("mount");
    expect(mount.target).toEqual({
      mediaType: BLOB,
      digest: done.blob.digest,
      size: done.blob.size,
      length: done.blob.size,
      repository: "other",
      url: `${berth.url}/v2/other/blobs/${done.blob.digest}`,
      fromRepository: "app",
    });
    expectCommon(mount, "POST", done.mountRequestId);
  });

  logged("deleting a tag and then the manifest are two delete events", async () => {
    const byTag = find("delete", (e) => e.target.tag === "v1");
    expect(byTag.target).toMatchObject({ digest: done.manifest.digest, repository: "app", tag: "v1" });
    expectCommon(byTag, "DELETE", done.deleteTagRequestId);
    const byDigest = find("delete", (e) => e.target.tag === undefined);
    expect(byDigest.target).toMatchObject({ mediaType: OCI_MANIFEST, digest: done.manifest.digest, size: done.manifest.size, repository: "app" });
    expectCommon(byDigest, "DELETE", done.deleteManifestRequestId);
  });

  logged("distribution format: envelope content type, ids, custom headers and a valid signature", async () => {
    for (const { request, event } of distEvents()) {
      expect(request.headers["content-type"]).toBe(DISTRIBUTION_EVENTS);
      expect(request.headers["x-berth-event-id"]).toBe(event.id);
      expect(request.headers["x-berth-delivery"]).toMatch(UUID);
      expect(request.headers["x-custom"]).toBe("yes");
      const timestamp = request.headers["x-berth-timestamp"] ?? "";
      expect(timestamp).toMatch(/^\d+$/);
      expect(Math.abs(Number(timestamp) * 1000 - request.at)).toBeLessThan(5_000);
      expect(request.headers["x-berth-signature"]).toBe(hmac(SECRET, timestamp, request.body));
    }
    const deliveries = new Set(distEvents().map((d) => d.request.headers["x-berth-delivery"]));
    expect(deliveries.size).toBe(10);
  });

  logged("cloudevents format: structured CloudEvents 1.0 carrying the same events; unsigned without a secret", async () => {
    const { receiver, berth } = setup();
    const dist = new Map<string, RegistryEventJson>(distEvents().map((d) => [d.event.id, d.event]));
    for (const request of receiver.on("/ce")) {
      expect(request.headers["content-type"]).toBe("application/cloudevents+json");
      expect(request.headers["x-berth-signature"]).toBeUndefined();
      const ce = request.json as Record<string, unknown> & { data: RegistryEventJson };
      const event = dist.get(ce.id as string);
      if (!event) throw new Error(`CloudEvent ${String(ce.id)} was not sent to the distribution endpoint too`);
      expect(request.headers["x-berth-event-id"]).toBe(ce.id as string);
      const { repository, tag, digest } = ce.data.target;
      expect(ce).toEqual({
        specversion: "1.0",
        id: event.id,
        source: berth.url,
        type: `io.berth.registry.${event.action}`,
        time: event.timestamp,
        datacontenttype: "application/json",
        subject: tag === undefined ? `${repository}@${digest}` : `${repository}:${tag}`,
        data: event,
      });
    }
  });

  logged("filters: an actions filter gets only deletes; a repository glob with ignored media types gets one manifest", async () => {
    const { receiver } = setup();
    expect(receiver.on("/deletes").flatMap(eventsOf).map((e) => e.action)).toEqual(["delete", "delete"]);
    const team = receiver.on("/team").flatMap(eventsOf);
    expect(team.map((e) => [e.action, e.target.repository, e.target.tag, e.target.digest])).toEqual([["push", "team/app", "latest", done.teamDigest]]);
  });

  logged("deliveries API lists each delivery's status; redeliver sends one again with the same ids", async () => {
    const { berth, receiver } = setup();
    const list = async (): Promise<Delivery[]> => {
      const res = await fetch(`${berth.url}/api/webhooks/deliveries?endpoint=dist&limit=50`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
    };
    // the receiver has every event; the worker records each outcome a moment later
    const until = Date.now() + 5_000;
    let deliveries = await list();
    while (Date.now() < until && !deliveries.every((d) => d.status === "delivered")) deliveries = await Bun.sleep(20).then(list);
    expect(deliveries).toHaveLength(10);
    for (const d of deliveries) {
      expect(d).toMatchObject({ endpoint: "dist", status: "delivered", attempts: 1, lastStatusCode: 200, lastError: null });
      expect(Date.parse(d.deliveredAt ?? "")).toBeGreaterThanOrEqual(Date.parse(d.createdAt));
    }
    // newest first: the last thing done was the team/app manifest push
    expect(deliveries[0]).toMatchObject({ action: "push", repository: "team/app", tag: "latest" });

    const limited = (await (await fetch(`${berth.url}/api/webhooks/deliveries?endpoint=deletes&limit=1`)).json()) as { deliveries: Delivery[] };
    expect(limited.deliveries).toHaveLength(1);
    expect((await fetch(`${berth.url}/api/webhooks/deliveries?endpoint=nope`)).status).toBe(404);
    expect((await fetch(`${berth.url}/api/webhooks/deliveries?limit=0`)).status).toBe(400);
    expect((await fetch(`${berth.url}/api/webhooks/deliveries?status=lost`)).status).toBe(400);
    expect((await fetch(`${berth.url}/api/webhooks/deliveries/not-a-delivery/redeliver`, { method: "POST" })).status).toBe(404);

    const target = deliveries.find((d) => d.action === "pull");
    if (!target) throw new Error("no pull delivery listed");
    const one = (await (await fetch(`${berth.url}/api/webhooks/deliveries/${target.id}`)).json()) as { delivery: Delivery; event: RegistryEventJson };
    expect(one.delivery.id).toBe(target.id);
    expect(one.event.id).toBe(target.eventId);

    const before = receiver.on("/dist").length;
    const redeliver = await fetch(`${berth.url}/api/webhooks/deliveries/${target.id}/redeliver`, { method: "POST" });
    expect(redeliver.status).toBe(202);
    await receiver.until(() => receiver.on("/dist").length === before + 1, 10_000, "the redelivery");
    const again = receiver.on("/dist").at(-1);
    expect(again?.headers["x-berth-delivery"]).toBe(target.id);
    expect(again?.headers["x-berth-event-id"]).toBe(target.eventId);
    // the receiver has it; the worker records that a moment later
    const row = async () => ((await (await fetch(`${berth.url}/api/webhooks/deliveries/${target.id}`)).json()) as { delivery: Delivery }).delivery;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await row()).status !== "delivered") await Bun.sleep(20);
    expect(await row()).toMatchObject({ status: "delivered", attempts: 1 });
  });
});
