/**
 * Webhook notifications: every registry event an endpoint subscribes to is written to a
 * durable queue first, then delivered by that endpoint's worker as a signed HTTP POST, with
 * retries, backoff and dead-lettering. Uses only the plugin API (PluginContext).
 */
import { isDeepStrictEqual } from "node:util";
import type { PluginContext, RegistryEvent, RegistryPlugin } from "../../src/hooks/types.ts";
import { registerApi } from "./api.ts";
import { type Endpoint, resolveEndpoint, resolveRetention, validateWebhookConfig, type WebhookConfig } from "./config.ts";
import { createFilter } from "./filter.ts";
import { DeliveryQueue } from "./queue.ts";
import { type DeliveryObserver, EndpointWorker } from "./worker.ts";

export { validateWebhookConfig, WebhookConfigError } from "./config.ts";

const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * @example createWebhookPlugin(validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://ci.internal/hook" }] }))
 */
export function createWebhookPlugin(config: WebhookConfig): RegistryPlugin {
  let queue: DeliveryQueue | null = null;
  let log: PluginContext["log"] = () => {};
  let endpoints: ConfiguredEndpoint[] = configure(config);
  const workers = new Map<string, EndpointWorker>();
  let observe: DeliveryObserver = () => {};

  /** Starts a worker per endpoint, replacing those whose settings changed and stopping removed ones. */
  const syncWorkers = async (open: DeliveryQueue) => {
    const wanted = new Map(endpoints.map(({ endpoint }) => [endpoint.name, endpoint]));
    for (const [name, worker] of workers) {
      const next = wanted.get(name);
      if (next !== undefined && isDeepStrictEqual(next, worker.endpoint)) continue;
      await worker.stop();
      workers.delete(name);
    }
    for (const [name, endpoint] of wanted) {
      if (workers.has(name)) continue;
      const worker = new EndpointWorker(endpoint, open, log, undefined, observe);
      workers.set(name, worker);
      worker.start(); // pending deliveries from before a restart (or a crash) go out now
    }
  };

  return {
    name: "webhook",
    async setup(ctx: PluginContext) {
      // alone: SQLite in dataDir; as one of several replicas: the shared database, drained by all
      const open = await DeliveryQueue.open(ctx.dataDir, ctx.cluster, ctx.log);
      queue = open;
      log = ctx.log;
      observe = webhookMetrics(ctx, open, () => endpoints.map(({ endpoint }) => endpoint.name));

      // Called after the change is durable, and awaited before the client gets its answer: an
      // acknowledged change always has its event on disk, before anything tries to send it.
      // Only the replica that made the change emits its event: it is queued once.
      ctx.on("*", async (event: RegistryEvent) => {
        const names = endpoints.filter(({ wants }) => wants(event)).map(({ endpoint }) => endpoint.name);
        if (names.length === 0) return;
        await open.enqueue(event, names);
        for (const name of names) workers.get(name)?.wake();
      }, { durable: true });

      registerApi(ctx, { queue: open, endpoints: () => endpoints.map((e) => e.endpoint), requeued: (name) => workers.get(name)?.wake() });

      const { keepDeliveredMs, keepDeadMs } = resolveRetention(config);
      // one replica at a time (the others find the lease taken and skip this round)
      const prune = async () => {
        const run = await ctx.cluster.exclusive("prune", () => open.prune(Date.now() - keepDeliveredMs, Date.now() - keepDeadMs));
        if (run.ran && run.value > 0) ctx.log("info", "pruned old webhook deliveries", { count: run.value });
      };
      await prune();
      ctx.every(PRUNE_INTERVAL_MS, prune);

      await syncWorkers(open);
      ctx.log("info", "webhook endpoints ready", { endpoints: endpoints.map(({ endpoint }) => endpoint.name).join(",") });
    },
    /** SIGHUP: new endpoints start, removed ones stop (their queued deliveries wait), changed ones restart. */
    async reload(options: Record<string, unknown>) {
      endpoints = configure(validateWebhookConfig(options));
      if (queue) await syncWorkers(queue);
      log("info", "webhook endpoints reloaded", { endpoints: endpoints.map(({ endpoint }) => endpoint.name).join(",") });
    },
    async close() {
      await Promise.all([...workers.values()].map((worker) => worker.stop()));
      await queue?.close();
    },
  };
}

interface ConfiguredEndpoint {
  endpoint: Endpoint;
  wants: (event: RegistryEvent) => boolean;
}

function configure(config: WebhookConfig): ConfiguredEndpoint[] {
  return config.endpoints.map((endpoint) => ({ endpoint: resolveEndpoint(endpoint), wants: createFilter(endpoint) }));
}

/** Deliveries in the queue by endpoint and status (read at scrape), attempts by outcome, and their latency. */
function webhookMetrics(ctx: PluginContext, queue: DeliveryQueue, names: () => string[]): DeliveryObserver {
  const queued = ctx.metrics.gauge("berth_webhook_deliveries", "Webhook deliveries in the queue by status (pending; delivered and dead until pruned).", ["endpoint", "status"]);
  const attempts = ctx.metrics.counter("berth_webhook_attempts_total", "Webhook delivery attempts by outcome: delivered, failed (retried later) or dead (given up).", ["endpoint", "outcome"]);
  const latency = ctx.metrics.histogram("berth_webhook_delivery_duration_seconds", "Time an endpoint took to answer a webhook delivery.", ["endpoint"]);
  ctx.metrics.beforeScrape(async () => {
    queued.reset();
    for (const endpoint of names()) {
      const counts = await queue.counts(endpoint);
      for (const [status, count] of Object.entries(counts)) queued.set(count, { endpoint, status });
    }
  });
  return (endpoint, outcome, seconds) => {
    attempts.inc({ endpoint, outcome });
    latency.observe(seconds, { endpoint });
  };
}
