/**
 * Pull of a one-layer image as a client does it: HEAD manifest, GET manifest, GET config,
 * GET layer (streamed and counted, not kept). The images are pushed untimed first.
 */
import { sizeId, sizeLabel } from "../config.ts";
import { runPhase } from "../measure.ts";
import { pushImage } from "../oci.ts";
import type { WorkloadGroup } from "./common.ts";
import { fetchOutcome, TRANSFER_METRICS, timedOps, withServer } from "./common.ts";

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
    await withServer(ctx, async (server, client) => {
      for (const { bytes, ops } of ctx.config.pullSizes) {
        const repo = `bench/pull-${sizeId(bytes).toLowerCase()}`;
        await pushImage(client, repo, "latest", ctx.data.blob(bytes, 0), "monolithic", 0);
        const measurement = await runPhase(server.pid, async () => {
          const result = await timedOps(ops, ctx.config.rowTimeLimitSec, async () => {
            await client.headManifest(repo, "latest");
            const text = await client.getManifest(repo, "latest");
            const manifest = JSON.parse(text) as ManifestJson;
            let moved = text.length;
            moved += await client.drainBlob(repo, manifest.config.digest);
            for (const layer of manifest.layers) moved += await client.drainBlob(repo, layer.digest);
            return moved;
          });
          return fetchOutcome(result, "blobs read on a raw socket");
        });
        ctx.record(
          {
            id: `pull-${sizeId(bytes)}`,
            label: `pull ${sizeLabel(bytes)}`,
            op: `pull one image with a ${sizeLabel(bytes)} layer`,
            metrics: TRANSFER_METRICS,
          },
          measurement,
        );
      }
    });
  },
};
