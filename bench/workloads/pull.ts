/**
 * Pull of a one-layer image as a client does it: HEAD manifest, GET manifest, GET config,
 * GET layer (streamed and counted, not kept). The images are pushed untimed first.
 * From 100 MiB up, two clients on their own threads pull at once: one Bun thread reading a
 * loopback socket was the limit of the 1 GiB row, not the server.
 */
import { sizeId, sizeLabel } from "../config.ts";
import { DrainPool } from "../drain-pool.ts";
import { runPhase } from "../measure.ts";
import { pushImage } from "../oci.ts";
import type { WorkloadGroup } from "./common.ts";
import { fetchOutcome, TRANSFER_METRICS, timedOps, withServer } from "./common.ts";

/** from this size up, the row runs two clients at once */
const TWO_CLIENTS_FROM = 100 * 1024 * 1024;

interface ManifestJson {
  config: { digest: string };
  layers: { digest: string }[];
}

export const pull: WorkloadGroup = {
  name: "pull",
  title: "Pull (HEAD + GET manifest, GET config, GET layer)",
  prepare(config, data, log) {
    for (const { bytes } of config.pullSizes) {
      log(`generating a ${sizeLabel(bytes)} random blob`);
      data.blob(bytes, 0);
    }
  },
  async run(ctx) {
    const drains = new DrainPool(2);
    try {
      await withServer(ctx, async (server, client) => {
        for (const { bytes, ops } of ctx.config.pullSizes) {
          const repo = `bench/pull-${sizeId(bytes).toLowerCase()}`;
          const clients = bytes >= TWO_CLIENTS_FROM ? 2 : 1;
          await pushImage(client, repo, "latest", ctx.data.blob(bytes, 0), "monolithic", 0);
          const measurement = await runPhase(server.pid, async () => {
            const result = await timedOps(ops, ctx.config.rowTimeLimitSec, async () => {
              await client.headManifest(repo, "latest");
              const text = await client.getManifest(repo, "latest");
              const manifest = JSON.parse(text) as ManifestJson;
              const digests = [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)];
              if (clients === 1) {
                let moved = text.length;
                for (const digest of digests) moved += await client.drainBlob(repo, digest);
                return moved;
              }
              const perClient = await Promise.all(
                Array.from({ length: clients }, async (_, slot) => {
                  let moved = text.length;
                  for (const digest of digests) moved += await drains.drain(slot, server.url, repo, digest);
                  return moved;
                }),
              );
              return perClient.reduce((sum, moved) => sum + moved, 0);
            });
            const outcome = fetchOutcome(result, clients > 1 ? "two clients on two threads, blobs read on raw sockets" : "blobs read on a raw socket");
            return { ...outcome, clientCoreCap: clients };
          });
          ctx.record(
            {
              id: `pull-${sizeId(bytes)}`,
              label: `pull ${sizeLabel(bytes)}${clients > 1 ? " x2" : ""}`,
              op: clients > 1 ? `two clients at once, each pulling one image with a ${sizeLabel(bytes)} layer` : `pull one image with a ${sizeLabel(bytes)} layer`,
              metrics: TRANSFER_METRICS,
            },
            measurement,
          );
        }
      });
    } finally {
      drains.close();
    }
  },
};
