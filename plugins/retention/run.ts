/**
 * A retention run: the plan at this moment, then exactly its deletions. A tag is deleted only
 * while it still points at the planned digest (a push since the plan wins), and a manifest only
 * while it still has no tag the plan did not list. Runs go one at a time, across replicas too
 * (`runExclusively`: the lease "run").
 */
import type { ClusterApi, RegistryReader, RegistryWriter } from "../../src/hooks/types.ts";
import type { Logger } from "../../src/log.ts";
import type { Policy } from "./config.ts";
import { runJson } from "./json.ts";
import { type Plan, type PlanDeps, planAll } from "./plan.ts";

export interface RunReport {
  id: string;
  trigger: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  plan: Plan;
  deletedTags: number;
  deletedManifests: number;
  /** what the run left because it changed since the plan, or could not be deleted */
  skipped: string[];
}

export interface RunDeps extends PlanDeps {
  registry: RegistryReader & RegistryWriter;
  log: Logger;
  /** told of every finished run (metrics, audit) */
  onRun?: (report: RunReport) => void;
  /** `ctx.cluster.exclusive`: one run at a time in this process and among replicas */
  exclusive: ClusterApi["exclusive"];
}

export interface RunOptions {
  now: number;
  trigger: string;
  dryRun: boolean;
  policies?: readonly Policy[];
}

/** the lease every run takes (dry runs too: a report of a plan another run is changing misleads) */
export const RUN_LEASE = "run";

/**
 * Runs `work` (a run, or a scheduled run's check then its run) unless a run is in progress here
 * or on another replica. @returns its value, or the replica holding the lease
 */
export function runExclusively<T>(deps: RunDeps, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false; holder: string }> {
  return deps.exclusive(RUN_LEASE, work);
}

/** One run; callers hold the lease (`runExclusively`). */
export async function runRetention(deps: RunDeps, options: RunOptions): Promise<RunReport> {
  const id = crypto.randomUUID();
  const startedAt = new Date().toISOString();
  const plan = await planAll(deps, options.now, options.policies ? { policies: options.policies } : {});
  const report: RunReport = { id, trigger: options.trigger, startedAt, finishedAt: startedAt, dryRun: options.dryRun, plan, deletedTags: 0, deletedManifests: 0, skipped: [] };
  for (const repository of plan.repositories) {
    if (options.dryRun || repository.dryRun) continue;
    const name = repository.repository;
    for (const removal of repository.tags) {
      try {
        await deps.registry.deleteTag(name, removal.tag, { ifDigest: removal.digest });
        await deps.store.recordRemoval({ repository: name, tag: removal.tag, digest: removal.digest, removedAt: options.now }, id);
        report.deletedTags++;
      } catch (error) {
        report.skipped.push(`${name}:${removal.tag}: ${(error as Error).message}`);
      }
    }
    const current = new Map(((await deps.registry.manifests(name)) ?? []).map((m) => [m.digest, m.tags]));
    for (const removal of repository.manifests) {
      const tags = current.get(removal.digest);
      const unplanned = tags?.filter((tag) => !removal.tags.includes(tag)) ?? [];
      if (tags === undefined || unplanned.length > 0) {
        report.skipped.push(`${name}@${removal.digest}: ${tags === undefined ? "already gone" : `tagged ${unplanned.join(", ")} since the plan`}`);
        continue;
      }
      try {
        await deps.registry.deleteManifest(name, removal.digest);
        report.deletedManifests++;
      } catch (error) {
        report.skipped.push(`${name}@${removal.digest}: ${(error as Error).message}`);
      }
    }
  }
  report.finishedAt = new Date().toISOString();
  await deps.store.saveRun(id, Date.parse(startedAt), runJson(report));
  deps.log("info", "retention run", { id, trigger: options.trigger, dry_run: options.dryRun, tags: report.deletedTags, manifests: report.deletedManifests, skipped: report.skipped.length });
  deps.onRun?.(report);
  return report;
}
