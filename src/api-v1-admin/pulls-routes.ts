/** `GET /api/v1/pulls?limit=N` (admins): the manifests pulled last, for the web UI's activity page. */
import { RegistryError } from "../oci/errors.ts";
import type { PluginRoutes } from "../plugins-host/routes.ts";
import type { Registry } from "../registry/registry.ts";

const MAX_LIMIT = 1000;

export function addPullsRoutes(routes: PluginRoutes, registry: Registry): void {
  routes.add("GET", "/api/v1/pulls", async (_request, { url }) => {
    const text = url.searchParams.get("limit") ?? "50";
    const limit = Number(text);
    if (!/^\d{1,4}$/.test(text) || limit < 1 || limit > MAX_LIMIT) {
      throw new RegistryError("PAGINATION_NUMBER_INVALID", { message: `limit must be a number from 1 to ${MAX_LIMIT} (got "${text.slice(0, 16)}")` });
    }
    const pulls = await registry.indexReads.recentPulls(limit);
    return Response.json({
      pulls: pulls.map((p) => ({ repository: p.repository, digest: p.digest, tags: p.tags, pulled_at: p.pulledAt, pull_count: p.pullCount })),
    });
  });
}
