/**
 * `POST /api/v1/index/rebuild`: builds the metadata index again from the tree while the
 * registry serves (`berth index rebuild` and `berth fsck --repair` beside a running server ask
 * for it over the admin socket). Each repository is rebuilt under its lock, as at the first
 * start over a registry:2 tree; the answer is the summary. Under /api/: admins only when
 * [auth] is on (app.ts: auth.guardAdmin).
 */
import type { PluginRoutes } from "../plugins-host/routes.ts";
import type { Registry } from "../registry/registry.ts";

export interface RebuildSummary {
  repositories: number;
  manifests: number;
  blobs: number;
  durationMs: number;
}

export function addIndexRoutes(routes: PluginRoutes, registry: Registry): void {
  // one rebuild at a time: a second request waits for the first, then walks the tree again
  let previous: Promise<unknown> = Promise.resolve();
  routes.add("POST", "/api/v1/index/rebuild", async () => {
    const rebuild = async (): Promise<RebuildSummary> => {
      const started = Date.now();
      const report = await registry.rebuildIndex();
      return { repositories: report.repositories, manifests: report.manifests, blobs: report.blobs, durationMs: Date.now() - started };
    };
    const run = previous.then(rebuild);
    previous = run.catch(() => undefined);
    const summary = await run;
    return Response.json({ repositories: summary.repositories, manifests: summary.manifests, blobs: summary.blobs, duration_ms: summary.durationMs });
  });
}
