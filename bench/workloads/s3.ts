/**
 * Registries on S3 (issue #16): monolithic push and pull of one-layer images against Berth with
 * `storage.driver = "s3"` and Distribution 2.8.2's S3 driver, on one Ceph RGW on loopback
 * (started for this group, a bucket per registry), both streaming blobs through themselves (no
 * redirect to the bucket). Berth on the filesystem runs the same rows as a reference (Berth
 * only). One push operation = layer (POST + PUT ?digest=), config, manifest, each push its own
 * layer; one pull = HEAD + GET manifest, GET config, GET layer (raw socket, counted, dropped)
 * of the first image the push row stored. The note adds the CPU radosgw and the OSD used.
 */
import { type Rgw, type S3Target, startRgw } from "../ceph.ts";
import { sizeId, sizeLabel } from "../config.ts";
import { cpuMark, cpuSince, runPhase } from "../measure.ts";
import { pushImage, type RegistryClient } from "../oci.ts";
import type { RunningServer } from "../servers.ts";
import type { Measurement, TargetName } from "../types.ts";
import type { GroupContext, WorkloadGroup } from "./common.ts";
import { fetchOutcome, TRANSFER_METRICS, timedOps, withServer } from "./common.ts";

interface ManifestJson {
  config: { digest: string };
  layers: { digest: string }[];
}

/** Where the rows of one server go: S3 (paired), or Berth on the filesystem (reference). */
type Storage = "s3" | "filesystem";

// one RGW for the group: started in prepare, stopped in cleanup
let rgw: Rgw | null = null;
const buckets = new Map<TargetName, S3Target>();

export const s3: WorkloadGroup = {
  name: "s3",
  title: "S3 storage (Ceph RGW on loopback): monolithic push and pull",
  async prepare(config, data, log) {
    for (const { bytes, ops } of config.s3Sizes) {
      log(`generating ${ops} × ${sizeLabel(bytes)} random blobs`);
      data.prepare(bytes, ops);
    }
    log("starting Ceph RGW (one monitor, a memstore OSD, radosgw) on loopback");
    rgw = await startRgw(config.workDir);
    try {
      const stamp = Date.now().toString(36);
      for (const target of ["berth", "distribution"] as const) buckets.set(target, await rgw.bucket(`bench-${target}-${stamp}`));
    } catch (error) {
      await stopRgw();
      throw error;
    }
    log(`  RGW at ${rgw.endpoint}`);
  },
  async run(ctx) {
    const bucket = buckets.get(ctx.target);
    if (!bucket || !rgw) return;
    const storage = rgw;
    await withServer(ctx, (server, client) => measureRows(ctx, server, client, "s3", storage), {}, bucket);
    if (ctx.target === "berth") await withServer(ctx, (server, client) => measureRows(ctx, server, client, "filesystem", storage));
  },
  async cleanup() {
    await stopRgw();
  },
};

async function stopRgw(): Promise<void> {
  const running = rgw;
  rgw = null;
  buckets.clear();
  await running?.stop();
}

/** Push rows then pull rows, for every size, against one running server. */
async function measureRows(ctx: GroupContext, server: RunningServer, client: RegistryClient, storage: Storage, cluster: Rgw): Promise<void> {
  const suffix = storage === "s3" ? "" : "-fs";
  const where = storage === "s3" ? "S3" : "filesystem (Berth reference)";
  for (const { bytes, ops } of ctx.config.s3Sizes) {
    const files = ctx.data.prepare(bytes, ops);
    const repo = `bench/s3-${sizeId(bytes).toLowerCase()}`;
    const pushed = await withStorageCpu(cluster, storage, () =>
      runPhase(server.pid, async () => {
        const result = await timedOps(files.length, ctx.config.rowTimeLimitSec, (i) => {
          const file = files[i];
          if (!file) throw new Error(`no blob ${i}`);
          return pushImage(client, repo, `v${i}`, file, "monolithic", 0);
        });
        return fetchOutcome(result);
      }),
    );
    ctx.record(
      {
        id: `s3-push-mono-${sizeId(bytes)}${suffix}`,
        label: `${where}: monolithic push ${sizeLabel(bytes)}`,
        op: `push one image to ${storage === "s3" ? "a registry on S3 (Ceph RGW)" : "Berth on the filesystem"}: ${sizeLabel(bytes)} layer (monolithic), config, manifest`,
        metrics: TRANSFER_METRICS,
        ...(storage === "s3" ? {} : { comparable: false }),
      },
      pushed,
    );
    const pulled = await withStorageCpu(cluster, storage, () =>
      runPhase(server.pid, async () => {
        const result = await timedOps(ops, ctx.config.rowTimeLimitSec, async () => {
          await client.headManifest(repo, "v0");
          const text = await client.getManifest(repo, "v0");
          const manifest = JSON.parse(text) as ManifestJson;
          let moved = text.length;
          for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)]) moved += await client.drainBlob(repo, digest);
          return moved;
        });
        return fetchOutcome(result, "blobs read on a raw socket");
      }),
    );
    ctx.record(
      {
        id: `s3-pull-${sizeId(bytes)}${suffix}`,
        label: `${where}: pull ${sizeLabel(bytes)}`,
        op: `pull one image with a ${sizeLabel(bytes)} layer from ${storage === "s3" ? "a registry on S3 (Ceph RGW)" : "Berth on the filesystem"}`,
        metrics: TRANSFER_METRICS,
        ...(storage === "s3" ? {} : { comparable: false }),
      },
      pulled,
    );
  }
}

/** Adds the CPU radosgw and the OSD used during `measure` to its note (S3 rows only). */
async function withStorageCpu(cluster: Rgw, storage: Storage, measure: () => Promise<Measurement>): Promise<Measurement> {
  if (storage !== "s3") return measure();
  const marks = cluster.pids().map((pid) => ({ pid, mark: cpuMark(pid) }));
  const measurement = await measure();
  const cpu = marks.reduce((sum, { pid, mark }) => sum + cpuSince(pid, mark), 0);
  const text = `RGW+OSD CPU ${cpu.toFixed(1)} s`;
  return { ...measurement, note: measurement.note ? `${measurement.note}; ${text}` : text };
}
