/**
 * `GET /api/v1/backup`: a tar of the registry at one point in time (snapshot.ts), streamed
 * while Berth serves; `berth backup` asks for it on the admin socket. GC waits until the
 * archive is sent (or the client goes). Admins only once [auth] is on (under /api/).
 * The counts come first, as headers, so a client can show progress.
 */
import type { Logger } from "../log.ts";
import type { PluginRoutes } from "../plugins-host/routes.ts";
import type { Registry } from "../registry/registry.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { type BackupPlan, planBackup } from "./snapshot.ts";
import { tarStream } from "./tar.ts";

export function addBackupRoutes(routes: PluginRoutes, registry: Registry, driver: StorageDriver, log: Logger): void {
  routes.add("GET", "/api/v1/backup", async () => {
    const release = await registry.pauseGc();
    let plan: BackupPlan;
    try {
      plan = await planBackup(registry, driver);
    } catch (error) {
      release();
      throw error;
    }
    log("info", "backup started", { repositories: plan.repositories, tags: plan.tags, manifests: plan.manifests, blobs: plan.blobs, bytes: plan.bytes });
    async function* entries() {
      try {
        yield* plan.entries;
        log("info", "backup sent", { blobs: plan.blobs, bytes: plan.bytes });
      } finally {
        release();
      }
    }
    return new Response(tarStream(entries()), {
      headers: {
        "Content-Type": "application/x-tar",
        "Berth-Backup-Repositories": String(plan.repositories),
        "Berth-Backup-Tags": String(plan.tags),
        "Berth-Backup-Manifests": String(plan.manifests),
        "Berth-Backup-Blobs": String(plan.blobs),
        "Berth-Backup-Bytes": String(plan.bytes),
      },
    });
  });
}
