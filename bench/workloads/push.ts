/**
 * Push of a one-layer image: layer blob (monolithic POST + PUT ?digest=, or chunked POST,
 * PATCH..., PUT), then config and manifest. One operation = one whole image; each uses a
 * unique random layer.
 */
import { sizeId, sizeLabel } from "../config.ts";
import { runPhase } from "../measure.ts";
import type { UploadMode } from "../oci.ts";
import { pushImage } from "../oci.ts";
import type { WorkloadGroup } from "./common.ts";
import { fetchOutcome, TRANSFER_METRICS, timedOps, withServer } from "./common.ts";

function pushGroup(mode: Exclude<UploadMode, "streamed">): WorkloadGroup {
  const short = mode === "monolithic" ? "mono" : "chunked";
  return {
    name: mode === "monolithic" ? "push-mono" : "push-chunked",
    title: mode === "monolithic" ? "Push, monolithic (POST + PUT ?digest=)" : "Push, chunked (POST, PATCH…, PUT)",
    baseline: true,
    prepare(config, data, log) {
      for (const { bytes, ops } of config.pushSizes) {
        log(`generating ${ops} × ${sizeLabel(bytes)} random blobs`);
        data.prepare(bytes, ops);
      }
    },
    async run(ctx) {
      await withServer(ctx, async (server, client) => {
        for (const { bytes, ops } of ctx.config.pushSizes) {
          const files = ctx.data.prepare(bytes, ops);
          const repo = `bench/push-${short}-${sizeId(bytes).toLowerCase()}`;
          const chunk = ctx.config.chunkBytes;
          const measurement = await runPhase(server.pid, async () => {
            const result = await timedOps(files.length, ctx.config.rowTimeLimitSec, (i) => {
              const file = files[i];
              if (!file) throw new Error(`no blob ${i}`);
              return pushImage(client, repo, `v${i}`, file, mode, chunk);
            });
            return fetchOutcome(result, mode === "chunked" ? `PATCH ${sizeLabel(chunk)}` : undefined);
          });
          ctx.record(
            {
              id: `push-${short}-${sizeId(bytes)}`,
              label: `${mode} push ${sizeLabel(bytes)}`,
              op: `push one image: ${sizeLabel(bytes)} layer (${mode}), config, manifest`,
              metrics: TRANSFER_METRICS,
            },
            measurement,
          );
        }
      });
    },
  };
}

export const pushMonolithic = pushGroup("monolithic");
export const pushChunked = pushGroup("chunked");
