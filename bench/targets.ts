/**
 * The targets, judged on one run's numbers (Berth ÷ Distribution from the same run,
 * or Berth's absolute value). In a quick run the big sizes are missing; a target is then
 * judged on the largest size measured and its note says so.
 */
import type { BenchConfig } from "./config.ts";
import { GiB, MiB, sizeId, sizeLabel } from "./config.ts";
import type { Measurement, MetricKey, Reference, TargetCheck, TargetName, WorkloadResult } from "./types.ts";

/** Berth ÷ `other` (Distribution by default, the baseline binary, or the bare Bun server); null when either is missing. */
export function ratio(workload: WorkloadResult | undefined, metric: MetricKey, other: Exclude<TargetName, "berth"> = "distribution"): number | null {
  if (workload?.comparable === false) return null;
  const berth = workload?.results.berth?.[metric];
  const them = workload?.results[other]?.[metric];
  if (berth === undefined || them === undefined || !Number.isFinite(berth) || !Number.isFinite(them) || them === 0) {
    return null;
  }
  return berth / them;
}

function largest(sizes: readonly { bytes: number }[]): number {
  return Math.max(0, ...sizes.map((s) => s.bytes));
}

function proxyNote(actual: number, intended: number): string | undefined {
  return actual === intended ? undefined : `judged on ${sizeLabel(actual)}; the target is for ${sizeLabel(intended)}`;
}

interface Spec {
  id: string;
  description: string;
  workloadId: string;
  metric: MetricKey;
  threshold: string;
  /** the compared value: a ratio, or an absolute Berth value */
  value(find: (id: string) => WorkloadResult | undefined): number | null;
  pass(value: number): boolean;
  note?: string | undefined;
}

function ratioSpec(
  id: string,
  description: string,
  workloadId: string,
  metric: MetricKey,
  op: ">=" | "<=",
  limit: number,
  note?: string,
  other: Exclude<TargetName, "berth"> = "distribution",
): Spec {
  return {
    id,
    description,
    workloadId,
    metric,
    threshold: `${op} ${limit}×`,
    value: (find) => ratio(find(workloadId), metric, other),
    pass: (v) => (op === ">=" ? v >= limit : v <= limit),
    note,
  };
}

function berthValue(find: (id: string) => WorkloadResult | undefined, id: string, metric: MetricKey): number | null {
  const m: Measurement | undefined = find(id)?.results.berth;
  const v = m?.[metric];
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/** Berth ÷ Distribution of `metric` per operation; null when either is missing. */
function perOp(workload: WorkloadResult | undefined, metric: MetricKey): number | null {
  const b = workload?.results.berth;
  const d = workload?.results.distribution;
  if (!b || !d || b.ops === 0 || d.ops === 0) return null;
  const value = (b[metric] / b.ops) / (d[metric] / d.ops);
  return Number.isFinite(value) ? value : null;
}

function specs(config: BenchConfig, reference: Reference): Spec[] {
  const push = largest(config.pushSizes);
  const s3Size = largest(config.s3Sizes);
  const s3Note = s3Size === 256 * MiB ? undefined : `judged on ${sizeLabel(s3Size)}; the full run's largest size is 256 MiB`;
  const pull = largest(config.pullSizes);
  const pushId = `push-mono-${sizeId(push)}`;
  const pullId = `pull-${sizeId(pull)}`;
  const dd = reference.ddMbPerSec;
  const c64 = config.manifestConcurrency.includes(64) ? 64 : Math.max(...config.manifestConcurrency);
  const c64note = c64 === 64 ? undefined : `judged at ${c64} connections; the target is for 64`;
  const image = config.imagePush;
  const imageId = `push-image-${sizeId(image.layerBytes)}-c${image.clients}`;
  const imageLabel = `image push ${sizeLabel(image.layerBytes)}, ${image.clients} clients: images/s`;
  const imageNote = image.layerBytes === MiB && image.clients === 16 ? undefined : "the target is for 1 MiB at 16 clients";
  const smallPush = Math.min(...config.pushSizes.map((s) => s.bytes));
  const patternNote = config.dockerPattern.maxLayerBytes === null ? undefined : `layers cut to ${sizeLabel(config.dockerPattern.maxLayerBytes)}; the target is for the whole recorded image`;
  const beforeNote = "no more than 10 % slower than the baseline binary (--baseline-bin); n/a without one";
  return [
    ratioSpec("manifest-get-c64", `manifest GET by tag, ${c64} conn: req/s`, `manifest-get-tag-c${c64}`, "opsPerSec", ">=", 10, c64note),
    ratioSpec("manifest-get-bare", `manifest GET by tag, ${c64} conn: req/s, Berth ÷ bare Bun server`, `manifest-get-tag-c${c64}`, "opsPerSec", ">=", 0.5, c64note, "bare"),
    ratioSpec("manifest-head-c64", `manifest HEAD by tag, ${c64} conn: req/s`, `manifest-head-tag-c${c64}`, "opsPerSec", ">=", 10, c64note),
    ratioSpec("push-256-ratio", `monolithic push ${sizeLabel(push)}: MB/s`, pushId, "mbPerSec", ">=", 2, proxyNote(push, 256 * MiB)),
    {
      id: "push-256-dd",
      description: `monolithic push ${sizeLabel(push)}: Berth MB/s ÷ dd conv=fsync MB/s`,
      workloadId: pushId,
      metric: "mbPerSec",
      threshold: ">= 0.8 of dd",
      value: (find) => {
        const v = berthValue(find, pushId, "mbPerSec");
        return v === null || !dd ? null : v / dd;
      },
      pass: (v) => v >= 0.8,
      note: proxyNote(push, 256 * MiB),
    },
    ratioSpec("push-image", imageLabel, imageId, "opsPerSec", ">=", 1.5, imageNote),
    ratioSpec("push-image-before", `${imageLabel}, Berth ÷ baseline`, imageId, "opsPerSec", ">=", 0.9, beforeNote, "baseline"),
    ratioSpec("push-mono-before", `monolithic push ${sizeLabel(smallPush)}: MB/s, Berth ÷ baseline`, `push-mono-${sizeId(smallPush)}`, "mbPerSec", ">=", 0.9, beforeNote, "baseline"),
    ratioSpec("docker-pattern", "docker push pattern replayed: MB/s", "push-docker-pattern", "mbPerSec", ">=", 1.5, patternNote),
    {
      id: "docker-pattern-cpu",
      description: "docker push pattern replayed: server CPU per image push",
      workloadId: "push-docker-pattern",
      metric: "serverCpuSec",
      threshold: "<= 0.8×",
      // per push: a row stopped by its time limit may have pushed fewer images on one side
      value: (find) => perOp(find("push-docker-pattern"), "serverCpuSec"),
      pass: (v) => v <= 0.8,
      note: patternNote,
    },
    ratioSpec("s3-push", `S3 (Ceph RGW) monolithic push ${sizeLabel(s3Size)}: MB/s, Berth ÷ Distribution's S3 driver`, `s3-push-mono-${sizeId(s3Size)}`, "mbPerSec", ">=", 1.5, s3Note),
    ratioSpec("s3-pull", `S3 (Ceph RGW) pull ${sizeLabel(s3Size)}: MB/s, Berth ÷ Distribution's S3 driver`, `s3-pull-${sizeId(s3Size)}`, "mbPerSec", ">=", 1, s3Note),
    ratioSpec("pull-1g-ratio", `pull ${sizeLabel(pull)}: MB/s`, pullId, "mbPerSec", ">=", 1, proxyNote(pull, GiB)),
    ratioSpec("pull-1g-cpu", `pull ${sizeLabel(pull)}: server CPU s`, pullId, "serverCpuSec", "<=", 0.5, proxyNote(pull, GiB)),
    ratioSpec("catalog", `catalog first page, ${config.catalogRepos} repos: req/s (= 1 / mean latency)`, "catalog", "opsPerSec", ">=", 20, config.catalogRepos === 10_000 ? undefined : "the target is for 10,000 repositories"),
    ratioSpec("tags", `tag list, ${config.tagCount} tags: req/s (= 1 / mean latency)`, "tags", "opsPerSec", ">=", 10, config.tagCount === 10_000 ? undefined : "the target is for 10,000 tags"),
    ratioSpec("docker", "docker push + pull: wall time", "docker-push-pull", "wallSec", "<=", 0.8, config.docker && config.docker.layerBytes * config.docker.layers < 150e6 ? "small image in this mode; the target is for about 200 MB" : undefined),
    {
      id: "rss-1g",
      description: `Berth peak RSS during a ${sizeLabel(config.rssPushBytes)} push`,
      workloadId: "rss-push",
      metric: "serverPeakRssMb",
      threshold: "<= 150 MB",
      value: (find) => berthValue(find, "rss-push", "serverPeakRssMb"),
      pass: (v) => v <= 150,
      note: proxyNote(config.rssPushBytes, GiB),
    },
    {
      id: "start",
      description: "Berth exec → first 200 on /v2/ (median)",
      workloadId: "start",
      metric: "p50Ms",
      threshold: "<= 150 ms",
      value: (find) => berthValue(find, "start", "p50Ms"),
      pass: (v) => v <= 150,
    },
    {
      id: "ui-first-render",
      description: `web UI first render of the repository list, ${config.catalogRepos} repos (median)`,
      workloadId: "ui-first-render",
      metric: "p50Ms",
      threshold: "<= 1000 ms",
      value: (find) => berthValue(find, "ui-first-render", "p50Ms"),
      pass: (v) => v <= 1000,
      note: config.catalogRepos === 10_000 ? undefined : "the target is for 10,000 repositories",
    },
    ratioSpec("start-bare", "exec → first 200 on /v2/ (median), Berth ÷ bare Bun server", "start", "p50Ms", "<=", 1.3, undefined, "bare"),
  ];
}

export function checkTargets(config: BenchConfig, reference: Reference, workloads: WorkloadResult[]): TargetCheck[] {
  const find = (id: string) => workloads.find((w) => w.id === id);
  return specs(config, reference).map((spec) => {
    const value = spec.value(find);
    const check: TargetCheck = {
      id: spec.id,
      description: spec.description,
      workloadId: spec.workloadId,
      metric: spec.metric,
      value,
      threshold: spec.threshold,
      pass: value === null ? null : spec.pass(value),
    };
    if (spec.note) check.note = spec.note;
    return check;
  });
}
