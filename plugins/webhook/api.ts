/**
 * The admin API (plugin routes, admin-only once auth is on):
 *   GET  /api/webhooks/endpoints                        endpoints with delivery counts by status
 *   GET  /api/webhooks/deliveries?endpoint=&status=&limit=50   recent deliveries, newest first
 *   GET  /api/webhooks/deliveries/<id>                  one delivery and the event it carries
 *   POST /api/webhooks/deliveries/<id>/redeliver        puts it back in the queue, due now
 * Errors use the registry's envelope: {"errors":[{"code","message"}]}.
 */
import type { PluginContext } from "../../src/hooks/types.ts";
import type { Endpoint } from "./config.ts";
import type { DeliveryQueue, DeliveryStatus } from "./queue.ts";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
const STATUSES: readonly string[] = ["pending", "delivered", "dead"] satisfies DeliveryStatus[];
const ITEM_PREFIX = "/api/webhooks/deliveries/";

export interface ApiDeps {
  queue: DeliveryQueue;
  /** the endpoints configured now (a reload may change them) */
  endpoints(): readonly Endpoint[];
  /** a delivery was requeued for this endpoint: let its worker look now */
  requeued(endpoint: string): void;
}

function fail(status: number, code: string, message: string): Response {
  return Response.json({ errors: [{ code, message }] }, { status });
}

export function registerApi(ctx: Pick<PluginContext, "route">, deps: ApiDeps): void {
  const known = { has: (name: string) => deps.endpoints().some((e) => e.name === name) };

  ctx.route("GET", "/api/webhooks/endpoints", async () => {
    const endpoints = [];
    for (const endpoint of deps.endpoints()) {
      endpoints.push({ name: endpoint.name, url: endpoint.url, format: endpoint.format, counts: await deps.queue.counts(endpoint.name) });
    }
    return Response.json({ endpoints });
  });

  ctx.route("GET", "/api/webhooks/deliveries", async (_request, { url }) => {
    const endpoint = url.searchParams.get("endpoint") ?? undefined;
    const status = url.searchParams.get("status") ?? undefined;
    const limitText = url.searchParams.get("limit") ?? String(DEFAULT_LIMIT);
    const limit = Number(limitText);
    if (endpoint !== undefined && !known.has(endpoint)) return fail(404, "NOT_FOUND", `No webhook endpoint named "${endpoint.slice(0, 100)}"`);
    if (status !== undefined && !STATUSES.includes(status)) {
      return fail(400, "BAD_REQUEST", `Cannot filter by status "${status.slice(0, 20)}": expected pending, delivered or dead`);
    }
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT) {
      return fail(400, "BAD_REQUEST", `Cannot use limit "${limitText.slice(0, 20)}": expected 1 to ${MAX_LIMIT}`);
    }
    const deliveries = await deps.queue.list({ endpoint, status: status as DeliveryStatus | undefined, limit });
    return Response.json({ deliveries });
  });

  ctx.route("GET", `${ITEM_PREFIX}*`, async (_request, { url }) => {
    const id = url.pathname.slice(ITEM_PREFIX.length);
    const found = id.includes("/") ? null : await deps.queue.get(id);
    if (!found) return fail(404, "NOT_FOUND", `No delivery ${id.slice(0, 100)}`);
    return Response.json(found);
  });

  ctx.route("POST", `${ITEM_PREFIX}*`, async (_request, { url }) => {
    const match = /^([^/]+)\/redeliver$/.exec(url.pathname.slice(ITEM_PREFIX.length));
    if (!match?.[1]) return fail(404, "NOT_FOUND", `No endpoint at ${url.pathname.slice(0, 200)}`);
    const existing = await deps.queue.get(match[1]);
    if (existing && !known.has(existing.delivery.endpoint)) {
      // no worker would ever send it: say so rather than answer 202
      return fail(409, "UNSUPPORTED", `Endpoint ${existing.delivery.endpoint} is not configured; add it back to [[webhook.endpoints]] to redeliver`);
    }
    const endpoint = await deps.queue.requeue(match[1]);
    if (endpoint === null) return fail(404, "NOT_FOUND", `No delivery ${match[1].slice(0, 100)}`);
    deps.requeued(endpoint);
    const found = await deps.queue.get(match[1]);
    return Response.json({ delivery: found?.delivery ?? null }, { status: 202 });
  });
}
