/** The webhook plugin takes new endpoints on reload (SIGHUP) without a restart. */
import { afterAll, expect, test } from "bun:test";
import { createWebhookPlugin, validateWebhookConfig } from "../../../plugins/webhook/index.ts";
import type { PluginContext, RouteHandler } from "../../../src/hooks/types.ts";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";

const dir = tempDir("berth-webhook-reload-");
afterAll(() => removeDir(dir));

test("reload adds, changes and removes endpoints; the admin API shows the new set", async () => {
  const routes = new Map<string, RouteHandler>();
  const ctx: PluginContext = {
    deny: (message: string): never => {
      throw new Error(message);
    },
    before: () => {},
    on: () => {},
    every: () => {},
    route: (method, path, handler) => void routes.set(`${method} ${path}`, handler),
    registry: {
      repositories: async () => [], tags: async () => [], manifest: async () => null, blob: async () => null, blobContent: async () => null, deleteTag: async () => {}, deleteManifest: async () => {},
      repositoryFacts: async () => null, tagFacts: async () => null, manifestFacts: async () => null,
      manifests: async () => null, storedBytes: async () => 0, freedBytes: async () => 0, tagManifest: async () => {},
      usage: async () => ({ storedBytes: 0, storedBlobs: 0, referencedBytes: 0, gcWaitingBytes: 0, gcWaitingBlobs: 0, uploadsInProgress: 0, repositories: [], namespaces: [] }),
    },
    options: {},
    dataDir: dir,
    log: () => {},
    metrics: new MetricsRegistry(),
    cluster: { replica: "test", database: null, exclusive: async (_name, work) => ({ ran: true, value: await work() }) },
    audit: () => {},
  };
  // nothing listens on port 9 of loopback: deliveries would fail, and none are queued here
  const plugin = createWebhookPlugin(validateWebhookConfig({ endpoints: [{ name: "old", url: "http://127.0.0.1:9/old" }] }));
  await plugin.setup(ctx);
  const names = async () => {
    const handler = routes.get("GET /api/webhooks/endpoints");
    if (!handler) throw new Error("the endpoints route is not registered");
    const body: unknown = await (await handler(new Request("http://berth/api/webhooks/endpoints"), { url: new URL("http://berth/api/webhooks/endpoints"), path: {} })).json();
    return endpointNames(body);
  };
  try {
    expect(await names()).toEqual(["old=http://127.0.0.1:9/old"]);
    await plugin.reload?.({ endpoints: [{ name: "new", url: "http://127.0.0.1:9/new" }, { name: "old", url: "http://127.0.0.1:9/changed" }] });
    expect(await names()).toEqual(["new=http://127.0.0.1:9/new", "old=http://127.0.0.1:9/changed"]);
    await expect(Promise.resolve(plugin.reload?.({ endpoints: 5 }))).rejects.toThrow("webhook.endpoints");
    expect(await names()).toEqual(["new=http://127.0.0.1:9/new", "old=http://127.0.0.1:9/changed"]);
  } finally {
    await plugin.close?.();
  }
});

/** "name=url" of each endpoint in the admin API's answer, after checking its shape. */
function endpointNames(body: unknown): string[] {
  const endpoints = typeof body === "object" && body !== null && "endpoints" in body ? body.endpoints : undefined;
  if (!Array.isArray(endpoints)) throw new Error(`expected {"endpoints": [...]}; got ${JSON.stringify(body)}`);
  return endpoints.map((endpoint: unknown) => {
    const name = typeof endpoint === "object" && endpoint !== null && "name" in endpoint ? endpoint.name : undefined;
    const url = typeof endpoint === "object" && endpoint !== null && "url" in endpoint ? endpoint.url : undefined;
    if (typeof name !== "string" || typeof url !== "string") throw new Error(`expected an endpoint with a name and a url; got ${JSON.stringify(endpoint)}`);
    return `${name}=${url}`;
  });
}
