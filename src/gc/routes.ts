/**
 * `POST /api/v1/gc` (optional `?dry_run=true`) runs GC now and answers its report;
 * `GET /api/v1/gc` shows the last runs and what is waiting. They live under /api/, which the
 * app serves only to admins when [auth] is on (app.ts: auth.guardAdmin).
 */
import type { PluginRoutes } from "../plugins-host/routes.ts";
import type { Registry } from "../registry/registry.ts";
import { errorResponse, HttpError } from "../api/errors.ts";
import { GcRunningElsewhere } from "./collector.ts";
import { gcReportJson, gcStatusJson } from "./json.ts";

export function addGcRoutes(routes: PluginRoutes, registry: Registry): void {
  routes.add("POST", "/api/v1/gc", async (_request, { url }) => {
    const dryRun = ["true", "1"].includes(url.searchParams.get("dry_run") ?? "");
    try {
      return Response.json(gcReportJson(await registry.collectGarbage({ dryRun })));
    } catch (error) {
      if (!(error instanceof GcRunningElsewhere)) throw error;
      return errorResponse(new HttpError("UNSUPPORTED", { status: 409, message: error.message }), "POST");
    }
  });
  routes.add("GET", "/api/v1/gc", async () => Response.json(gcStatusJson(await registry.gcStatus())));
}
