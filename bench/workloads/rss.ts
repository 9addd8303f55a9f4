/**
 * Peak server RSS during one big monolithic push (1 GiB in a full run): does the registry
 * stream the body to disk, or hold it?
 */
import { sizeId, sizeLabel } from "../config.ts";
import { runPhase } from "../measure.ts";
import { pushImage } from "../oci.ts";
import type { WorkloadGroup } from "./common.ts";
import { fetchOutcome, timedOps, withServer } from "./common.ts";

export const rssPush: WorkloadGroup = {
  name: "rss-push",
  title: "Memory during a big push",
  prepare(config, data, log) {
    log(`generating a ${sizeLabel(config.rssPushBytes)} random blob`);
    data.blob(config.rssPushBytes, 0);
  },
  async run(ctx) {
    const bytes = ctx.config.rssPushBytes;
    await withServer(ctx, async (server, client) => {
      const file = ctx.data.blob(bytes, 0);
      const measurement = await runPhase(server.pid, async () => {
        const result = await timedOps(1, ctx.config.rowTimeLimitSec, () =>
          pushImage(client, "bench/rss", "v1", file, "monolithic", 0),
        );
        return fetchOutcome(result);
      });
      ctx.record(
        {
          id: "rss-push",
          label: `peak RSS, monolithic push ${sizeLabel(bytes)}`,
          op: `one monolithic push of a ${sizeLabel(bytes)} layer into an idle registry (${sizeId(bytes)})`,
          metrics: ["serverPeakRssMb", "mbPerSec", "serverCpuSec"],
        },
        measurement,
      );
    });
  },
};
