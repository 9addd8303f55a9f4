/**
 * dockerd's push, replayed without dockerd: the request pattern recorded by
 * bench/record-docker-push.ts (bench/patterns/docker-push.json) sent from raw sockets with
 * fresh random bytes, so the registry sees what a docker push sends (a connection per request,
 * each layer one chunked PATCH of 32 KiB chunks in small writes, five layers at once) without
 * dockerd's gzip on the same cores. One operation is one image push.
 */
import { join } from "node:path";
import { repoRoot, sizeLabel } from "../config.ts";
import type { PhaseOutcome } from "../measure.ts";
import { runPhase } from "../measure.ts";
import { randomPool } from "../pattern/content.ts";
import type { DockerPushPattern } from "../pattern/pattern.ts";
import { loadPattern } from "../pattern/pattern.ts";
import { replayPush } from "../pattern/replay.ts";
import type { WorkloadGroup } from "./common.ts";
import { TRANSFER_METRICS, timedOps, withServer } from "./common.ts";

export const PATTERN_PATH = join(repoRoot, "bench/patterns/docker-push.json");
/** random bytes the layers are cut from, generated once per run (untimed) */
const POOL_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 120_000;

let prepared: { pattern: DockerPushPattern; pool: Buffer } | null = null;

/** Bytes one replayed image push sends (blobs, each layer cut to `maxLayerBytes`, and manifest). */
export function patternImageBytes(pattern: DockerPushPattern, maxLayerBytes: number | null): number {
  let total = 0;
  for (const flow of pattern.flows) {
    for (const step of flow.steps) {
      if (step.kind !== "http" || !step.body) continue;
      total += flow.role === "layer" && maxLayerBytes !== null ? Math.min(step.body.bytes, maxLayerBytes) : step.body.bytes;
    }
  }
  return total;
}

export const pushDockerPattern: WorkloadGroup = {
  name: "push-docker-pattern",
  title: "Push as dockerd drives it (recorded pattern, replayed)",
  baseline: true,
  prepare(_config, _data, log) {
    const pattern = loadPattern(PATTERN_PATH);
    log(`docker push pattern: ${pattern.flows.length} flows recorded ${pattern.recordedAt} (docker ${pattern.docker})`);
    prepared = { pattern, pool: randomPool(POOL_BYTES) };
  },
  async run(ctx) {
    if (!prepared) throw new Error("the docker push pattern was not loaded");
    const { pattern, pool } = prepared;
    const { ops, maxLayerBytes } = ctx.config.dockerPattern;
    const imageBytes = patternImageBytes(pattern, maxLayerBytes);
    await withServer(ctx, async (server) => {
      const [hostname = "127.0.0.1", port = "0"] = server.host.split(":");
      const measurement = await runPhase(server.pid, async (): Promise<PhaseOutcome> => {
        const result = await timedOps(ops, ctx.config.rowTimeLimitSec, async (i) => {
          const target = { hostname, port: Number(port), repo: "bench/docker-pattern", tag: `v${i}` };
          return (await replayPush(pattern, target, { pool, maxLayerBytes, timeoutMs: REQUEST_TIMEOUT_MS })).bytes;
        });
        const cut = maxLayerBytes === null ? undefined : `layers cut to ${sizeLabel(maxLayerBytes)}`;
        return {
          ops: result.latenciesMs.length,
          bytes: result.bytes,
          latenciesMs: result.latenciesMs,
          errors: result.errors,
          tool: "bun-raw",
          clientCoreCap: 1,
          note: [cut, result.firstError].filter(Boolean).join("; "),
        };
      });
      ctx.record(
        {
          id: "push-docker-pattern",
          label: `docker push pattern replayed, ${(imageBytes / 1e6).toFixed(0)} MB image`,
          op: `one image push as dockerd sent it (${pattern.flows.length} flows, a connection per request, layers as chunked PATCHes of the recorded chunk and write sizes), fresh random bytes`,
          metrics: TRANSFER_METRICS,
        },
        measurement,
      );
    });
  },
};
