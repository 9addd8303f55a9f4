/** The JSON of plans and runs, snake_case like the rest of /api/v1 (and as runs are stored). */
import type { Plan } from "./plan.ts";
import type { RunReport } from "./run.ts";

export function planJson(plan: Plan): unknown {
  return {
    now: plan.now,
    bytes_freed_after_gc: plan.bytesFreedAfterGc,
    repositories: plan.repositories.map((repository) => ({
      name: repository.repository,
      policy: repository.policy,
      dry_run: repository.dryRun,
      tags: repository.tags.map((t) => ({ tag: t.tag, digest: t.digest, size: t.size, reasons: t.reasons })),
      manifests: repository.manifests.map((m) => ({ digest: m.digest, size: m.size, tags: m.tags, reason: m.reason })),
      untagged_after: repository.orphaned,
    })),
  };
}

export function runJson(report: RunReport): unknown {
  return {
    id: report.id,
    trigger: report.trigger,
    started_at: report.startedAt,
    finished_at: report.finishedAt,
    dry_run: report.dryRun,
    deleted_tags: report.deletedTags,
    deleted_manifests: report.deletedManifests,
    skipped: report.skipped,
    plan: planJson(report.plan),
  };
}

