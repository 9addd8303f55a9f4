/**
 * `POST /api/v1/maintenance` with `{"read_only": true|false}` turns maintenance mode on or off
 * while Berth serves; `GET` says which it is. Read-only refuses pushes, deletes and GC with 503
 * UNSUPPORTED (the registry facade checks it), while pulls go on and /healthz says
 * `"mode": "read-only"`. Admins only once [auth] is on (under /api/). Not kept across a
 * restart: `[storage] read_only` says what a start begins with. With replicas it is one mode
 * for all (a shared setting, src/cluster/cluster.ts): the others follow within a heartbeat, and
 * a replica that starts later follows the last one set, over its `[storage] read_only`.
 */
import { errorResponse, HttpError } from "../api/errors.ts";
import type { Logger } from "../log.ts";
import type { PluginRoutes } from "../plugins-host/routes.ts";
import type { Registry } from "../registry/registry.ts";
import type { Cluster } from "../cluster/cluster.ts";

/** The shared setting replicas follow (src/compose.ts). */
export const READ_ONLY_SETTING = "read_only";

export function addMaintenanceRoutes(routes: PluginRoutes, registry: Registry, cluster: Cluster, log: Logger): void {
  routes.add("GET", "/api/v1/maintenance", () => Response.json({ read_only: registry.readOnly }));
  routes.add("POST", "/api/v1/maintenance", async (request) => {
    const readOnly = readOnlyOf(await request.text());
    if (readOnly === null) {
      const error = new HttpError("UNSUPPORTED", { status: 400, message: 'The body must be {"read_only": true} or {"read_only": false}' });
      return errorResponse(error, request.method);
    }
    if (readOnly !== registry.readOnly) log("warn", readOnly ? "maintenance: the registry is read-only" : "maintenance: the registry accepts changes again");
    registry.setReadOnly(readOnly);
    await cluster.setSetting(READ_ONLY_SETTING, String(readOnly));
    return Response.json({ read_only: registry.readOnly });
  });
}

function readOnlyOf(text: string): boolean | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("read_only" in body)) return null;
  return typeof body.read_only === "boolean" ? body.read_only : null;
}
