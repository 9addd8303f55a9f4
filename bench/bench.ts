/**
 * Runs the selected workload groups against both registries and writes the results.
 *
 * Each group gets a freshly started registry with an empty data directory per target; the
 * target that goes first alternates between groups so slow drift of the machine (other
 * tenants, page cache) does not always favour the same side.
 */
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BareBinary } from "./bare/build.ts";
import { buildBareServer } from "./bare/build.ts";
import { ensureBerthBinary } from "./build.ts";
import { onInterrupt } from "./cleanup.ts";
import type { BenchConfig } from "./config.ts";
import { repoRoot } from "./config.ts";
import { DataCache } from "./data.ts";
import { ddReference } from "./disk.ts";
import { num } from "./format.ts";
import { machineInfo } from "./machine.ts";
import { renderMarkdown } from "./report.ts";
import { renderSvg } from "./svg.ts";
import { checkTargets } from "./targets.ts";
import type { BenchResult, Measurement, Reference, WorkloadResult } from "./types.ts";
import type { GroupContext, RowInfo, WorkloadGroup } from "./workloads/common.ts";
import { docker } from "./workloads/docker.ts";
import { catalog, tags } from "./workloads/listing.ts";
import { manifest } from "./workloads/manifest.ts";
import { signing } from "./workloads/signing.ts";
import { pull } from "./workloads/pull.ts";
import { indexGroup } from "./workloads/index.ts";
import { pushChunked, pushMonolithic } from "./workloads/push.ts";
import { pushImages } from "./workloads/push-image.ts";
import { pushDockerPattern } from "./workloads/push-docker-pattern.ts";
import { rssPush } from "./workloads/rss.ts";
import { replicas } from "./workloads/replicas.ts";
import { s3 } from "./workloads/s3.ts";
import { start } from "./workloads/start.ts";

/** Every group, in run order. */
export const ALL_GROUPS: readonly WorkloadGroup[] = [
  start,
  pushMonolithic,
  pushChunked,
  pushImages,
  pushDockerPattern,
  pull,
  manifest,
  signing,
  catalog,
  tags,
  indexGroup,
  docker,
  rssPush,
  s3,
  replicas,
];

export const GROUP_TITLES: ReadonlyMap<string, string> = new Map(ALL_GROUPS.map((g) => [g.name, g.title]));

const DEFAULT_BINARY = join(repoRoot, "dist/berth");

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function summary(m: Measurement): string {
  return `${num(m.opsPerSec)} ops/s, ${num(m.mbPerSec)} MB/s, p50 ${num(m.p50Ms)} ms, p99 ${num(m.p99Ms)} ms, server CPU ${num(m.serverCpuSec)} s, RSS ${num(m.serverPeakRssMb)} MB${m.note ? ` (${m.note})` : ""}`;
}

export async function runBench(config: BenchConfig, log: (line: string) => void): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const berthCommand = config.berthCommand[0];
  if (config.targets.includes("berth") && config.berthCommand.length === 1 && berthCommand === DEFAULT_BINARY) {
    await ensureBerthBinary(DEFAULT_BINARY, log);
  }
  const groups = ALL_GROUPS.filter((g) => config.groups.includes(g.name));
  const machine = machineInfo(config);
  let reference: Reference = { ddMbPerSec: null, ddRuns: [] };
  if (config.groups.includes("env") || config.groups.includes("push-mono")) {
    log(`disk reference: dd bs=1M count=${config.ddCountMiB} conv=fsync × ${config.ddRuns}`);
    reference = await ddReference(config);
    log(`  ${num(reference.ddMbPerSec)} MB/s`);
  }
  const workloads = new Map<string, WorkloadResult>();
  const failures: BenchResult["failures"] = [];
  mkdirSync(config.workDir, { recursive: true });
  let bare: BareBinary | null = null;
  if (config.targets.includes("bare") && groups.some((g) => g.bare === true)) {
    try {
      bare = await buildBareServer(config.workDir, log);
      config.bareCommand = [bare.path];
    } catch (error) {
      log(`bare server: ${errorText(error)}`);
      failures.push({ id: "bare-build", target: "bare", error: errorText(error) });
    }
  }
  const forgetBare = onInterrupt(() => bare?.remove());
  const data = new DataCache(mkdtempSync(join(config.workDir, "berth-bench-data-")));
  const runId = `${Date.now().toString(36)}`;
  const forgetData = onInterrupt(() => data.remove());
  try {
    for (const [index, group] of groups.entries()) {
      // the baseline (an older Berth) and the bare server only run the groups that compare against them
      const targets = config.targets.filter(
        (t) => (t !== "baseline" || group.baseline === true) && (t !== "bare" || (group.bare === true && config.bareCommand !== null)),
      );
      try {
        await group.prepare?.(config, data, log);
      } catch (error) {
        log(`${group.name}: preparation failed: ${errorText(error)}`);
        for (const target of targets) failures.push({ id: group.name, target, error: errorText(error) });
        continue;
      }
      // the bare server is a reference, not a contender: it goes last, so row order stays the registries'
      const contenders = targets.filter((t) => t !== "bare");
      const order = [...(index % 2 === 0 ? contenders : [...contenders].reverse()), ...targets.filter((t) => t === "bare")];
      for (const target of order) {
        log(`${group.name} → ${target}`);
        const ctx: GroupContext = {
          config,
          data,
          target,
          runId,
          log,
          record(row: RowInfo, measurement: Measurement) {
            let w = workloads.get(row.id);
            if (!w) {
              w = { id: row.id, group: group.name, label: row.label, op: row.op, metrics: row.metrics, results: {} };
              if (row.comparable === false) w.comparable = false;
              workloads.set(row.id, w);
            }
            w.results[target] = measurement;
            log(`  ${row.id} [${target}]: ${summary(measurement)}`);
          },
        };
        try {
          await group.run(ctx);
        } catch (error) {
          log(`${group.name} on ${target} failed: ${errorText(error)}`);
          failures.push({ id: group.name, target, error: errorText(error) });
        }
      }
      try {
        await group.cleanup?.(config);
      } catch (error) {
        log(`${group.name}: cleanup failed: ${errorText(error)}`);
      }
    }
  } finally {
    forgetData();
    data.remove();
    forgetBare();
    bare?.remove();
  }
  const list = [...workloads.values()];
  return {
    schema: "berth-bench/1",
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: config.mode,
    config,
    machine,
    reference,
    workloads: list,
    targets: checkTargets(config, reference, list),
    failures,
  };
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Writes <timestamp>.json, latest.json, latest.md and latest.svg; returns their paths. */
export function writeResults(result: BenchResult, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(result, (_key, value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? null : value), 2)}\n`;
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  const paths = {
    run: join(outDir, `${stamp}.json`),
    json: join(outDir, "latest.json"),
    md: join(outDir, "latest.md"),
    svg: join(outDir, "latest.svg"),
  };
  writeAtomic(paths.run, json);
  writeAtomic(paths.json, json);
  writeAtomic(paths.md, renderMarkdown(result, GROUP_TITLES));
  writeAtomic(paths.svg, renderSvg(result));
  return Object.values(paths);
}

