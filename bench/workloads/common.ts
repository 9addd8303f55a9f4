/**
 * What every workload group shares: its context, the fresh-server lifecycle, and bounded
 * loops (sequential timed operations, a worker pool for set-up).
 */
import type { S3Target } from "../ceph.ts";
import type { BenchConfig, GroupName } from "../config.ts";
import type { DataCache } from "../data.ts";
import { RegistryClient } from "../oci.ts";
import type { RunningServer } from "../servers.ts";
import { startServer } from "../servers.ts";
import type { PhaseOutcome } from "../measure.ts";
import type { Measurement, MetricKey, TargetName } from "../types.ts";

export interface RowInfo {
  id: string;
  label: string;
  /** what one operation is */
  op: string;
  metrics: MetricKey[];
  /** false when the registries did different things (e.g. Distribution has no index to rebuild) */
  comparable?: boolean;
}

export interface GroupContext {
  config: BenchConfig;
  data: DataCache;
  target: TargetName;
  /** a short unique string for this run (docker tags) */
  runId: string;
  /** records one row's measurement for `target` */
  record(row: RowInfo, measurement: Measurement): void;
  log(line: string): void;
}

export interface WorkloadGroup {
  name: GroupName;
  /** section title in the report */
  title: string;
  /** also runs against the baseline target (an older Berth, --baseline-bin) */
  baseline?: boolean;
  /** also runs against the bare Bun server (the floor), for the rows it can answer */
  bare?: boolean;
  /** untimed, once per run, before any server starts (e.g. generate data files) */
  prepare?(config: BenchConfig, data: DataCache, log: (line: string) => void): Promise<void> | void;
  /** measures every row of the group against ctx.target */
  run(ctx: GroupContext): Promise<void>;
  /** untimed, once per run, after both targets (e.g. remove docker images) */
  cleanup?(config: BenchConfig): Promise<void> | void;
}

/**
 * Starts a fresh registry (with `files` in its working directory; storing into `s3` when given),
 * runs `fn`, always stops it and removes its data directory.
 */
export async function withServer<T>(
  ctx: GroupContext,
  fn: (server: RunningServer, client: RegistryClient) => Promise<T>,
  files: Record<string, string> = {},
  s3?: S3Target,
): Promise<T> {
  // Start from a quiet disk: a registry that does not fsync (Distribution) leaves dirty pages
  // whose writeback would otherwise land on whichever registry runs next.
  Bun.spawnSync(["sync"]);
  const server = await startServer(ctx.target, ctx.config, files, s3);
  try {
    return await fn(server, new RegistryClient(server.url));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- ${ctx.target} log tail ---\n${server.logTail()}`);
  } finally {
    await server.stop();
  }
}

export interface TimedOps {
  latenciesMs: number[];
  bytes: number;
  errors: number;
  firstError?: string;
}

/**
 * Runs `fn(i)` one after another for i < count, stopping early once `limitSec` has passed
 * (at least one operation always runs). `fn` returns the bytes it moved.
 */
export async function timedOps(count: number, limitSec: number, fn: (i: number) => Promise<number>): Promise<TimedOps> {
  const result: TimedOps = { latenciesMs: [], bytes: 0, errors: 0 };
  const deadline = performance.now() + limitSec * 1000;
  for (let i = 0; i < count; i++) {
    if (i > 0 && performance.now() > deadline) break;
    const t0 = performance.now();
    try {
      result.bytes += await fn(i);
      result.latenciesMs.push(performance.now() - t0);
    } catch (error) {
      result.errors++;
      result.firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  return result;
}

/**
 * Runs `fn(i)` for i < count with at most `concurrency` in flight; stops starting new work
 * after `limitSec` or after 20 errors. Returns how many succeeded.
 */
export async function pool(
  count: number,
  concurrency: number,
  limitSec: number,
  fn: (i: number) => Promise<void>,
): Promise<{ done: number; errors: number; firstError?: string }> {
  const deadline = performance.now() + limitSec * 1000;
  const state: { next: number; done: number; errors: number; firstError?: string } = { next: 0, done: 0, errors: 0 };
  const worker = async () => {
    while (state.next < count && state.errors < 20 && performance.now() < deadline) {
      const i = state.next++;
      try {
        await fn(i);
        state.done++;
      } catch (error) {
        state.errors++;
        state.firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return state;
}

/** "r00042" style zero-padded names so lexical order matches numeric order. */
export function padded(prefix: string, i: number, width = 5): string {
  return `${prefix}${String(i).padStart(width, "0")}`;
}

export const TRANSFER_METRICS: MetricKey[] = [
  "mbPerSec",
  "opsPerSec",
  "p50Ms",
  "p99Ms",
  "serverCpuSec",
  "serverPeakRssMb",
  "clientCpuSec",
];
export const REQUEST_METRICS: MetricKey[] = [
  "opsPerSec",
  "p50Ms",
  "p99Ms",
  "serverCpuSec",
  "serverPeakRssMb",
  "clientCpuSec",
];

/** The outcome of a phase driven by this Bun process's fetch client (one core at most). */
export function fetchOutcome(result: TimedOps, ...notes: Array<string | undefined>): PhaseOutcome {
  return {
    ops: result.latenciesMs.length,
    bytes: result.bytes,
    latenciesMs: result.latenciesMs,
    errors: result.errors,
    tool: "bun-fetch",
    clientCoreCap: 1,
    note: [...notes, result.firstError].filter(Boolean).join("; "),
  };
}
