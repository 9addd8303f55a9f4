/**
 * `GET /api/v1/cluster`: this replica's id and every replica sharing the metadata database,
 * with when each was last seen (admins only once [auth] is on). One process answers
 * `{"shared": false}` and itself alone.
 */
import type { Cluster } from "../cluster/cluster.ts";
import type { PluginRoutes } from "../plugins-host/routes.ts";

export function addClusterRoutes(routes: PluginRoutes, cluster: Cluster): void {
  routes.add("GET", "/api/v1/cluster", async () => {
    const replicas = await cluster.replicas();
    return Response.json({
      replica: cluster.replica,
      shared: cluster.shared,
      replicas: replicas.map((replica) => ({
        id: replica.id,
        addr: replica.addr,
        started_at: new Date(replica.startedAt).toISOString(),
        seen_at: new Date(replica.seenAt).toISOString(),
        alive: replica.alive,
      })),
    });
  });
}
