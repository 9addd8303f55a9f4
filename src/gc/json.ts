/** The wire form of GC reports and status: snake_case, as every /api/v1 answer (docs/api.md). */
import type { GcReport } from "./collector.ts";
import type { GcStatus } from "./status.ts";

type Json = Record<string, unknown>;

export function gcReportJson(report: GcReport): Json {
  return {
    id: report.id,
    dry_run: report.dryRun,
    started_at: report.startedAt,
    finished_at: report.finishedAt,
    duration_ms: report.durationMs,
    blobs_deleted: report.blobsDeleted,
    bytes_freed: report.bytesFreed,
    manifests_deleted: report.manifestsDeleted,
    blobs: report.blobs,
    manifests: report.manifests,
    errors: report.errors,
  };
}

export function gcStatusJson(status: GcStatus): Json {
  return {
    runs: status.runs.map((run) => ({
      id: run.id,
      dry_run: run.dryRun,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
      duration_ms: run.durationMs,
      blobs_deleted: run.blobsDeleted,
      bytes_freed: run.bytesFreed,
      manifests_deleted: run.manifestsDeleted,
      error: run.error,
    })),
    waiting_count: status.waitingCount,
    waiting: status.waiting.map((blob) => ({ digest: blob.digest, size: blob.size, review_at: blob.reviewAt })),
  };
}
