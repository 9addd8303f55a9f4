/**
 * Scale-out (issue #16): the manifest GET row (wrk, by tag, 64 connections, keep-alive) against
 * Berth replicas on one Ceph RGW bucket and one PostgreSQL database, through Debian's HAProxy
 * (round robin, tests/helpers/haproxy.ts) over 1, 2 and 3 replicas, and against one replica
 * directly as the reference for what HAProxy costs. Berth only: the rows compare replica counts,
 * not registries. Each row's note gives its ratio to the 1-replica-behind-HAProxy figure and the
 * CPU every Berth process and HAProxy used, which is what limits the curve on a 2-core machine
 * shared with the load generator.
 */
import { type Rgw, type S3Target, startRgw } from "../ceph.ts";
import { onInterrupt } from "../cleanup.ts";
import type { BenchConfig } from "../config.ts";
import { classify, cpuMark, cpuSince, runPhase } from "../measure.ts";
import { OCI_MANIFEST, pushImage, RegistryClient } from "../oci.ts";
import { rawLoad } from "../rawload.ts";
import { type RunningServer, startServer } from "../servers.ts";
import type { Measurement } from "../types.ts";
import { createTestDatabase, postgresUrl, type TestDatabase } from "../../tests/helpers/postgres.ts";
import { type Haproxy, haproxyInstalled, startHaproxy } from "../../tests/helpers/haproxy.ts";
import type { GroupContext, WorkloadGroup } from "./common.ts";
import { load, MAX_REQUESTS } from "./manifest.ts";

const REPO = "bench/manifest";
const REPLICAS = 3;

// the storage of the group: started in prepare, removed in cleanup
let rgw: Rgw | null = null;
let bucket: S3Target | null = null;
let database: TestDatabase | null = null;

export const replicas: WorkloadGroup = {
  name: "replicas",
  title: "Replicas on S3 + PostgreSQL behind HAProxy: manifest GET",
  async prepare(config, _data, log) {
    if (!haproxyInstalled()) throw new Error("haproxy is not installed (`source tests/machine.sh` as root installs it)");
    if (postgresUrl() === null) throw new Error("BERTH_TEST_POSTGRES_URL is not set (bench/run.sh sources tests/machine.sh, which starts PostgreSQL)");
    log("starting Ceph RGW (one monitor, a memstore OSD, radosgw) on loopback and a PostgreSQL database");
    rgw = await startRgw(config.workDir);
    try {
      bucket = await rgw.bucket(`bench-replicas-${Date.now().toString(36)}`);
      database = await createTestDatabase("berth_bench_replicas");
    } catch (error) {
      await cleanupStorage();
      throw error;
    }
    log(`  RGW at ${rgw.endpoint}, database ${database.name}`);
  },
  async run(ctx) {
    if (ctx.target !== "berth" || !bucket || !database) return;
    const files = { "registry.toml": `[metadata]\nurl = "${database.url}"\n` };
    const servers: RunningServer[] = [];
    try {
      // the first replica creates the schema alone
      for (let i = 0; i < REPLICAS; i++) servers.push(await startServer("berth", ctx.config, files, bucket));
      const first = servers[0];
      if (!first) throw new Error("no replica started");
      const client = new RegistryClient(first.url);
      await pushImage(client, REPO, "latest", ctx.data.blob(1024, 0), "monolithic", 0);
      const body = await client.getManifest(REPO, "latest");
      let reference: number | null = null;
      for (const count of [1, 2, 3]) {
        const measurement = await behindHaproxy(servers.slice(0, count), (proxy) => measureRow(ctx, `${proxy.url}/v2/${REPO}/manifests/latest`, servers.slice(0, count), proxy, body.length, reference));
        reference ??= measurement.opsPerSec;
        record(ctx, `replicas-haproxy-${count}`, `${count} replica${count > 1 ? "s" : ""} behind HAProxy`, measurement);
      }
      const direct = await measureRow(ctx, `${first.url}/v2/${REPO}/manifests/latest`, [first], null, body.length, reference);
      record(ctx, "replicas-direct-1", "1 replica directly (no HAProxy)", direct);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n--- first replica's log tail ---\n${servers[0]?.logTail() ?? ""}`);
    } finally {
      for (const server of servers) await server.stop();
    }
  },
  async cleanup() {
    await cleanupStorage();
  },
};

async function cleanupStorage(): Promise<void> {
  const [running, db] = [rgw, database];
  rgw = null;
  bucket = null;
  database = null;
  await db?.drop();
  await running?.stop();
}

function record(ctx: GroupContext, id: string, label: string, measurement: Measurement): void {
  ctx.record(
    {
      id,
      label: `manifest GET by tag, 64 conn: ${label}`,
      op: `one GET /v2/<name>/manifests/<tag> (keep-alive) to ${label}, storage on S3 (Ceph RGW), metadata in PostgreSQL`,
      metrics: ["opsPerSec", "p50Ms", "p99Ms", "serverCpuSec", "clientCpuSec"],
    },
    measurement,
  );
}

/** Starts HAProxy over `servers`, runs `fn`, always stops it. */
async function behindHaproxy<T>(servers: RunningServer[], fn: (proxy: Haproxy) => Promise<T>): Promise<T> {
  const proxy = await startHaproxy(servers.map((server) => Number(new URL(server.url).port)));
  const forget = onInterrupt(() => process.kill(proxy.pid, "SIGKILL"));
  try {
    return await fn(proxy);
  } finally {
    await proxy.stop();
    forget();
  }
}

/** The connections of the manifest group's GET-by-tag row at its highest concurrency. */
function connections(config: BenchConfig): number {
  return config.manifestConcurrency.includes(64) ? 64 : Math.max(...config.manifestConcurrency);
}

/**
 * One row: warm-up, then the manifest group's load for its duration, with the CPU of every
 * Berth process and of HAProxy; serverCpuSec is their sum.
 */
async function measureRow(ctx: GroupContext, url: string, servers: RunningServer[], proxy: Haproxy | null, bodyBytes: number, reference: number | null): Promise<Measurement> {
  const row = { method: "GET", refKind: "tag", connections: connections(ctx.config) } as const;
  if (ctx.config.warmupSec > 0) {
    await rawLoad({ url, method: "GET", headers: { Accept: OCI_MANIFEST }, connections: row.connections, durationSec: ctx.config.warmupSec, maxRequests: MAX_REQUESTS });
  }
  const pids = [...servers.map((server) => server.pid), ...(proxy ? [proxy.pid] : [])];
  const marks = pids.map((pid) => cpuMark(pid));
  let clientCoreCap = 1;
  const measured = await runPhase(servers[0]?.pid ?? 0, async () => {
    const outcome = await load(ctx, url, row, ctx.config.manifestDurationSec, bodyBytes);
    clientCoreCap = outcome.clientCoreCap;
    return outcome;
  });
  const cpu = pids.map((pid, i) => cpuSince(pid, marks[i] ?? cpuMark(pid)));
  const berthCpu = cpu.slice(0, servers.length);
  const proxyCpu = proxy ? (cpu[servers.length] ?? Number.NaN) : null;
  const serverCpuSec = cpu.reduce((sum, value) => sum + value, 0);
  const { bottleneck, text } = classify(measured.clientCpuSec, serverCpuSec, measured.wallSec, clientCoreCap);
  const ratio = reference === null || reference <= 0 ? "the reference" : `×${(measured.opsPerSec / reference).toFixed(2)} of 1 replica behind HAProxy`;
  const cores = (sec: number) => (sec / measured.wallSec).toFixed(2);
  const split = `cores: Berth ${berthCpu.map(cores).join(" + ")}${proxyCpu === null ? "" : `, HAProxy ${cores(proxyCpu)}`}, client ${cores(measured.clientCpuSec)}`;
  const notes = [ratio, split, text, measured.errors > 0 ? `${measured.errors} errors` : ""];
  return { ...measured, serverCpuSec, bottleneck, note: notes.filter((note) => note !== "").join("; ") };
}
