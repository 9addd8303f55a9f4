/**
 * Retention policies, tag immutability and quotas (built-in plugin, hook API only).
 * [retention] policies delete tags and manifests on a schedule or when asked, with a preview,
 * a history of runs and an undo window; [[immutable]] and [[quota]] guard pushes and deletes.
 */
import type { PluginContext, RegistryPlugin } from "../../src/hooks/types.ts";
import { installApi } from "./api.ts";
import { type RetentionConfig, type RetentionOptions, validateRetentionConfig } from "./config.ts";
import { immutableRuleFor, installGuards } from "./guards.ts";
import type { RunReport } from "./run.ts";
import { installSchedules } from "./schedule.ts";
import { RetentionStore } from "./store.ts";

export { RetentionConfigError, retentionWanted, validateRetentionConfig } from "./config.ts";

/** the actor of the core's own GC deletes (untagged manifests) */
const GC_ACTOR = "berth:gc";

export function createRetentionPlugin(initial: RetentionConfig): RegistryPlugin {
  let config = initial;
  let store: RetentionStore | null = null;
  return {
    name: "retention",
    async setup(ctx: PluginContext) {
      // with replicas, in the database they share: undo and runs are seen from any of them
      const opened = await RetentionStore.open(ctx.dataDir, ctx.cluster.database, ctx.log);
      store = opened;
      const current = () => config;
      const isImmutable = (repository: string, tag: string) => immutableRuleFor(config, repository, tag) !== null;
      const runs = ctx.metrics.counter("berth_retention_runs_total", "Retention runs (not previews or dry runs).");
      const deletions = ctx.metrics.counter("berth_retention_deletions_total", "Tags and manifests retention deleted.", ["kind"]);
      const onRun = (report: RunReport) => {
        if (report.dryRun) return;
        runs.inc();
        deletions.inc({ kind: "tag" }, report.deletedTags);
        deletions.inc({ kind: "manifest" }, report.deletedManifests);
        ctx.audit("retention.run", { run: report.id, trigger: report.trigger, tags_deleted: report.deletedTags, manifests_deleted: report.deletedManifests, skipped: report.skipped.length });
      };
      const deps = {
        onRun,
        registry: ctx.registry,
        store: opened,
        log: ctx.log,
        exclusive: ctx.cluster.exclusive,
        isImmutable,
        current,
        testClock: process.env.BERTH_TEST_CLOCK === "1",
        get config() {
          return config;
        },
      };
      installGuards(ctx, current);
      // the core's untagged GC must not take a manifest retention can still restore
      ctx.before("manifest.delete", async (context) => {
        if (context.request.actor !== GC_ACTOR || context.digest === undefined) return;
        if (await opened.held(context.repository, context.digest, Date.now() - config.undoWindowMs)) {
          ctx.deny(`${context.repository}@${context.digest} is held by retention's undo window`);
        }
      });
      installApi(ctx, deps);
      installSchedules(ctx, deps, current);
    },
    reload(options: Record<string, unknown>) {
      const { retention, immutable, quota } = options;
      config = validateRetentionConfig({ retention, immutable, quota } satisfies RetentionOptions);
    },
    async close() {
      await store?.close();
    },
  };
}
