/**
 * Shapes shared by the harness: what a workload measures, what a run writes to JSON.
 *
 * Units: MB = 10^6 bytes (as dd prints it), latencies in milliseconds, CPU in seconds.
 * A number that could not be measured is NaN in memory and null in the JSON files.
 */
import type { BenchConfig } from "./config.ts";

/**
 * The registries compared in one run: Berth and Distribution, and optionally "baseline", an
 * older Berth binary (`--baseline-bin`) that the push rows also run against to show what a
 * change costs, and "bare", a bare compiled Bun server (bench/bare/server.ts) that answers
 * /v2/ and one manifest from memory: the floor of the start-up and manifest GET rows.
 */
export type TargetName = "berth" | "distribution" | "baseline" | "bare";
export const TARGETS: readonly TargetName[] = ["berth", "distribution", "baseline", "bare"];

/** Which program generated the load for a row. */
export type LoadTool = "wrk" | "bun-raw" | "bun-fetch" | "docker" | "dd" | "spawn" | "cli";

/** What limited a row, judged from CPU use of both sides (they share the machine's cores). */
export type Bottleneck = "client" | "server" | "shared-cpu" | "io-or-latency";

/** One workload measured against one registry. */
export interface Measurement {
  /** completed operations (requests, image pushes, pulls, ...) */
  ops: number;
  /** payload bytes moved (request or response bodies) */
  bytes: number;
  /** wall time of the measured phase, seconds */
  wallSec: number;
  opsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** server process utime+stime during the measured phase */
  serverCpuSec: number;
  /** peak resident set of the server during the measured phase, MB */
  serverPeakRssMb: number;
  /** load generator CPU (this process plus any wrk/docker/dockerd it drove) */
  clientCpuSec: number;
  /** failed operations (non-2xx, resets); a row with errors is flagged in its note */
  errors: number;
  tool: LoadTool;
  bottleneck: Bottleneck;
  /** free text: why a number looks the way it does */
  note?: string;
}

/** Keys of Measurement that the report prints as metric rows. */
export type MetricKey =
  | "opsPerSec"
  | "mbPerSec"
  | "p50Ms"
  | "p99Ms"
  | "wallSec"
  | "serverCpuSec"
  | "serverPeakRssMb"
  | "clientCpuSec";

/** A workload's result for both registries, before it is turned into table rows. */
export interface WorkloadResult {
  /** stable id, e.g. "push-mono-256MiB" */
  id: string;
  /** section of the report, e.g. "push (monolithic)" */
  group: string;
  /** human label, e.g. "monolithic push 256 MiB" */
  label: string;
  /** what one operation is, for the README and the JSON */
  op: string;
  /** metrics worth printing for this workload, first one is charted */
  metrics: MetricKey[];
  /** false when the two registries did different things (no ratio is printed) */
  comparable?: boolean;
  results: Partial<Record<TargetName, Measurement>>;
}

/** One target from the issue, judged on this run's numbers. */
export interface TargetCheck {
  id: string;
  description: string;
  /** the workload row and metric it is judged on */
  workloadId: string;
  metric: MetricKey;
  /** the measured value compared with the threshold (a ratio or an absolute) */
  value: number | null;
  threshold: string;
  pass: boolean | null;
  note?: string;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  kernel: string;
  bunVersion: string;
  distributionVersion: string;
  berthVersion: string;
  wrk: string | null;
  docker: string | null;
  gitCommit: string | null;
}

export interface Reference {
  /** dd if=/dev/zero bs=1M conv=fsync on the storage disk, MB/s (median of runs) */
  ddMbPerSec: number | null;
  ddRuns: number[];
}

export interface BenchResult {
  schema: "berth-bench/1";
  startedAt: string;
  finishedAt: string;
  mode: "full" | "quick" | "custom";
  /** the sizes, counts and durations this run used */
  config: BenchConfig;
  machine: MachineInfo;
  reference: Reference;
  workloads: WorkloadResult[];
  targets: TargetCheck[];
  /** workloads that failed to run, with the error text */
  failures: { id: string; target: TargetName; error: string }[];
}
