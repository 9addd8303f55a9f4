/**
 * Workload sizes and limits for a full run and for `--quick`.
 *
 * Every loop in the harness is bounded by a count from here and by a time limit.
 */
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TargetName } from "./types.ts";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Workload groups; each runs against a freshly started registry with an empty data directory. */
export const GROUPS = [
  "env",
  "push-mono",
  "push-chunked",
  "pull",
  "push-image",
  "push-docker-pattern",
  "manifest",
  "signing",
  "catalog",
  "tags",
  "index",
  "docker",
  "rss-push",
  "s3",
  "replicas",
] as const;
export type GroupName = (typeof GROUPS)[number];

export interface SizedOps {
  bytes: number;
  /** how many operations to measure (each push uses its own unique blob) */
  ops: number;
}

export interface BenchConfig {
  mode: "full" | "quick" | "custom";
  targets: TargetName[];
  groups: GroupName[];
  pushSizes: SizedOps[];
  pullSizes: SizedOps[];
  /** PATCH size of the chunked push */
  chunkBytes: number;
  /** stop a push/pull row after this long even if fewer ops ran (at least one op always runs) */
  rowTimeLimitSec: number;
  manifestConcurrency: number[];
  manifestDurationSec: number;
  warmupSec: number;
  catalogRepos: number;
  tagCount: number;
  /** sequential list requests: at most this many, and at most listDurationSec */
  listMaxRequests: number;
  listDurationSec: number;
  /** concurrency of set-up requests (creating repositories and tags) */
  setupConcurrency: number;
  /** docker-style image pushes (HEAD, POST, PATCH, PUT per blob, then the manifest) from concurrent clients */
  imagePush: { layerBytes: number; clients: number; ops: number };
  /** GC over a tree of `blobs` blobs of which `unreferenced` have no manifest (the rest are live) */
  gc: { blobs: number; unreferenced: number };
  /** repositories in the tree `berth index rebuild` indexes (one tagged image each, as the catalog's set-up) */
  rebuildRepos: number;
  docker: { layers: number; layerBytes: number } | null;
  /** replays of the recorded docker push (bench/patterns/docker-push.json): image pushes, and a cap on each layer's bytes (null: as recorded) */
  dockerPattern: { ops: number; maxLayerBytes: number | null };
  rssPushBytes: number;
  /** the s3 group: monolithic pushes (`ops` each, one blob per push) and pulls (`ops` of one image) per size, on Ceph RGW */
  s3Sizes: SizedOps[];
  ddCountMiB: number;
  ddRuns: number;
  startRuns: number;
  /** where data files and registry roots go (same disk as the dd reference) */
  workDir: string;
  /** where results are written */
  outDir: string;
  berthCommand: string[];
  /** an older Berth (`--baseline-bin`), the "baseline" target of the push rows; null: none */
  baselineCommand: string[] | null;
  /** the bare Bun server (the "bare" target), compiled at bench time into the work dir; null until then */
  bareCommand: string[] | null;
  distributionBin: string;
  berthEnv: Record<string, string>;
  /** "auto": wrk for GET rows when installed; "bun": the Bun raw-socket client for every row */
  client: "auto" | "bun";
  /** keep registry data directories after each group (debugging) */
  keep: boolean;
}

export const repoRoot = resolve(import.meta.dir, "..");

function base(): Omit<BenchConfig, "mode" | "pushSizes" | "pullSizes"> {
  return {
    targets: ["berth", "distribution", "bare"],
    groups: [...GROUPS],
    chunkBytes: 10 * MiB,
    rowTimeLimitSec: 60,
    manifestConcurrency: [1, 16, 64],
    manifestDurationSec: 10,
    warmupSec: 1,
    catalogRepos: 10_000,
    tagCount: 10_000,
    listMaxRequests: 20_000,
    listDurationSec: 10,
    setupConcurrency: 8,
    imagePush: { layerBytes: MiB, clients: 16, ops: 320 },
    gc: { blobs: 10_000, unreferenced: 1_000 },
    rebuildRepos: 10_000,
    docker: { layers: 4, layerBytes: 50 * 1000 * 1000 },
    dockerPattern: { ops: 4, maxLayerBytes: null },
    rssPushBytes: GiB,
    s3Sizes: [
      { bytes: 64 * MiB, ops: 5 },
      { bytes: 256 * MiB, ops: 3 },
    ],
    ddCountMiB: 256,
    ddRuns: 3,
    startRuns: 7,
    workDir: tmpdir(),
    outDir: join(repoRoot, "bench/results"),
    berthCommand: [join(repoRoot, "dist/berth")],
    baselineCommand: null,
    bareCommand: null,
    distributionBin: "/usr/bin/docker-registry",
    // Distribution runs with log level error and no access log; Berth gets the same
    berthEnv: { BERTH_LOG_LEVEL: "error" },
    client: "auto",
    keep: false,
  };
}

/** The whole benchmark as the issues describe it (roughly 20-30 minutes on 2 cores). */
export function fullConfig(): BenchConfig {
  return {
    ...base(),
    mode: "full",
    pushSizes: [
      { bytes: MiB, ops: 50 },
      { bytes: 10 * MiB, ops: 20 },
      { bytes: 100 * MiB, ops: 5 },
      { bytes: 256 * MiB, ops: 5 }, // five: this VM's disk has outliers a median of three does not absorb
    ],
    pullSizes: [
      { bytes: MiB, ops: 50 },
      { bytes: 10 * MiB, ops: 20 },
      { bytes: 100 * MiB, ops: 5 },
      { bytes: GiB, ops: 3 },
    ],
  };
}

/** A subset that finishes in under two minutes: small sizes, short durations, few repos/tags. */
export function quickConfig(): BenchConfig {
  return {
    ...base(),
    mode: "quick",
    pushSizes: [
      { bytes: MiB, ops: 10 },
      { bytes: 10 * MiB, ops: 3 },
    ],
    pullSizes: [
      { bytes: MiB, ops: 10 },
      { bytes: 10 * MiB, ops: 3 },
    ],
    chunkBytes: 4 * MiB,
    rowTimeLimitSec: 10,
    manifestDurationSec: 1,
    warmupSec: 0.2,
    catalogRepos: 300,
    tagCount: 300,
    imagePush: { layerBytes: MiB, clients: 16, ops: 64 },
    gc: { blobs: 1_000, unreferenced: 100 },
    rebuildRepos: 1_000,
    listMaxRequests: 2000,
    listDurationSec: 1,
    docker: { layers: 4, layerBytes: 2 * 1000 * 1000 },
    dockerPattern: { ops: 3, maxLayerBytes: 4 * 1000 * 1000 },
    rssPushBytes: 64 * MiB,
    s3Sizes: [
      { bytes: 16 * MiB, ops: 3 },
      { bytes: 64 * MiB, ops: 2 },
    ],
    ddCountMiB: 64,
    ddRuns: 1,
    startRuns: 3,
  };
}

/** "64 KiB", "1 MiB", "256 MiB", "1 GiB", "50 MB" */
export function sizeLabel(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0 && bytes < MiB) return `${bytes / 1024} KiB`;
  if (bytes % 1_000_000 === 0) return `${bytes / 1_000_000} MB`;
  return `${bytes} B`;
}

/** "1MiB", "256MiB": for ids */
export function sizeId(bytes: number): string {
  return sizeLabel(bytes).replace(" ", "");
}
