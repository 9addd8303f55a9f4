/**
 * Manifest GET and HEAD, by tag and by digest, at each configured concurrency, for a fixed
 * duration after a short warm-up. GET rows use wrk when it is installed; HEAD rows (which
 * wrk 4.1 cannot do) and the fallback use the raw-socket Bun client.
 *
 * The bare Bun server (the "bare" target, bench/bare/server.ts) is given the same manifest
 * bytes with a PUT and runs only the GET by tag at 64 connections: the floor of that row.
 */
import { availableParallelism } from "node:os";
import type { PhaseOutcome } from "../measure.ts";
import { runPhase } from "../measure.ts";
import { OCI_MANIFEST, oneLayerImage, pushImage } from "../oci.ts";
import { rawLoad } from "../rawload.ts";
import { runWrk, wrkVersion } from "../wrk.ts";
import type { GroupContext, WorkloadGroup } from "./common.ts";
import { REQUEST_METRICS, withServer } from "./common.ts";

const REPO = "bench/manifest";
export const MAX_REQUESTS = 5_000_000;

type Method = "GET" | "HEAD";

export interface Row {
  method: Method;
  refKind: "tag" | "digest";
  connections: number;
}

function rows(concurrency: readonly number[]): Row[] {
  const out: Row[] = [];
  for (const method of ["GET", "HEAD"] as const) {
    for (const refKind of ["tag", "digest"] as const) {
      for (const connections of concurrency) out.push({ method, refKind, connections });
    }
  }
  return out;
}

/** One row's load: wrk for GET when installed, else the raw-socket Bun client (also used by the signing group). */
export async function load(ctx: GroupContext, url: string, row: Row, durationSec: number, bodyBytes: number): Promise<PhaseOutcome> {
  const headers = { Accept: OCI_MANIFEST };
  const useWrk = row.method === "GET" && ctx.config.client === "auto" && wrkVersion() !== null;
  if (useWrk) {
    const threads = Math.min(row.connections, availableParallelism());
    const result = await runWrk({ url, headers, connections: row.connections, threads, durationSec });
    return {
      ops: result.requests,
      bytes: result.requests * bodyBytes,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      errors: result.errors,
      tool: "wrk",
      childCpuSec: result.cpuSec,
      clientCoreCap: threads,
    };
  }
  const result = await rawLoad({
    url,
    method: row.method,
    headers,
    connections: row.connections,
    durationSec,
    maxRequests: MAX_REQUESTS,
  });
  const why = row.method === "HEAD" && ctx.config.client === "auto" ? "wrk 4.1 cannot HEAD" : undefined;
  return {
    ops: result.requests,
    bytes: result.bytes,
    latenciesMs: result.latenciesMs,
    errors: result.errors,
    tool: "bun-raw",
    clientCoreCap: 1,
    ...(why ? { note: why } : {}),
  };
}

/** The rows the bare server runs: GET by tag at 64 connections (or the most configured). */
function bareRows(concurrency: readonly number[]): Row[] {
  const top = concurrency.includes(64) ? 64 : Math.max(...concurrency);
  return rows(concurrency).filter((r) => r.method === "GET" && r.refKind === "tag" && r.connections === top);
}

export const manifest: WorkloadGroup = {
  name: "manifest",
  title: "Manifest GET / HEAD",
  bare: true,
  async run(ctx) {
    await withServer(ctx, async (server, client) => {
      const layer = ctx.data.blob(1024, 0);
      // the bare server stores no blobs: it is given the manifest Berth and Distribution serve
      if (ctx.target === "bare") await client.putManifest(REPO, "latest", oneLayerImage(REPO, "latest", layer).manifest);
      else await pushImage(client, REPO, "latest", layer, "monolithic", 0);
      const body = await client.getManifest(REPO, "latest");
      const digest = `sha256:${new Bun.CryptoHasher("sha256").update(body).digest("hex")}`;
      const selected = ctx.target === "bare" ? bareRows(ctx.config.manifestConcurrency) : rows(ctx.config.manifestConcurrency);
      for (const row of selected) {
        const reference = row.refKind === "tag" ? "latest" : digest;
        const url = `${server.url}/v2/${REPO}/manifests/${reference}`;
        if (ctx.config.warmupSec > 0) {
          await rawLoad({
            url,
            method: row.method,
            headers: { Accept: OCI_MANIFEST },
            connections: row.connections,
            durationSec: ctx.config.warmupSec,
            maxRequests: MAX_REQUESTS,
          });
        }
        const bodyBytes = row.method === "GET" ? body.length : 0;
        const measurement = await runPhase(server.pid, () =>
          load(ctx, url, row, ctx.config.manifestDurationSec, bodyBytes),
        );
        ctx.record(
          {
            id: `manifest-${row.method.toLowerCase()}-${row.refKind}-c${row.connections}`,
            label: `manifest ${row.method} by ${row.refKind}, ${row.connections} conn`,
            op: `one ${row.method} /v2/<name>/manifests/<${row.refKind}> (keep-alive)`,
            metrics: REQUEST_METRICS,
          },
          measurement,
        );
      }
    });
  },
};
