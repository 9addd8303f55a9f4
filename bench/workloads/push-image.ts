/**
 * Small image pushes as docker drives them, from many clients at once: per image, the layer and
 * then the config go HEAD (absent), POST, PATCH (whole body), PUT ?digest=, then the manifest
 * is PUT by tag. Each client pushes to its own repository; every image has its own random
 * layer. This is where per-request durability costs (fsyncs, index commits) show, so the
 * group also runs against the baseline binary (--baseline-bin).
 */
import { sizeId, sizeLabel } from "../config.ts";
import { runPhase } from "../measure.ts";
import { pushImage } from "../oci.ts";
import type { WorkloadGroup } from "./common.ts";
import { fetchOutcome, padded, pool, TRANSFER_METRICS, withServer } from "./common.ts";

export const pushImages: WorkloadGroup = {
  name: "push-image",
  title: "Image push as docker does it, concurrent clients",
  baseline: true,
  prepare(config, data, log) {
    const { layerBytes, ops } = config.imagePush;
    log(`generating ${ops} × ${sizeLabel(layerBytes)} random blobs`);
    data.prepare(layerBytes, ops);
  },
  async run(ctx) {
    const { layerBytes, clients, ops } = ctx.config.imagePush;
    const files = ctx.data.prepare(layerBytes, ops);
    await withServer(ctx, async (server, client) => {
      const measurement = await runPhase(server.pid, async () => {
        const latenciesMs: number[] = [];
        let bytes = 0;
        const result = await pool(files.length, clients, ctx.config.rowTimeLimitSec, async (i) => {
          const file = files[i];
          if (!file) throw new Error(`no blob ${i}`);
          const t0 = performance.now();
          const moved = await pushImage(client, `bench/image-${padded("c", i % clients, 2)}`, `v${i}`, file, "streamed", 0);
          bytes += moved; // not `bytes += await ...`: that reads `bytes` before the await and loses other clients' adds
          latenciesMs.push(performance.now() - t0);
        });
        const note = `${clients} clients${result.firstError ? `; ${result.firstError}` : ""}`;
        return fetchOutcome({ latenciesMs, bytes, errors: result.errors }, note);
      });
      ctx.record(
        {
          id: `push-image-${sizeId(layerBytes)}-c${clients}`,
          label: `image push ${sizeLabel(layerBytes)}, ${clients} clients`,
          op: `push one image as docker does: ${sizeLabel(layerBytes)} layer and config (HEAD, POST, PATCH, PUT each), manifest; ${clients} at a time`,
          metrics: TRANSFER_METRICS,
        },
        measurement,
      );
    });
  },
};
