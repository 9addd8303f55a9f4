/**
 * Replication ([[replication]]): every manifest push (and, with `deletes = true`, every tag or
 * manifest delete) of a matching repository and tag is written to a durable queue before the
 * client is answered, then copied to the rule's target by its worker; a periodic reconcile
 * queues every matching tag again (a copy first asks the target, so what is there costs a HEAD).
 * State per rule at GET /api/v1/replication. Uses only the plugin API.
 */
import type { PluginContext, RegistryEvent, RegistryPlugin, RegistryReader } from "../../src/hooks/types.ts";
import { isManifestMediaType } from "../../src/oci/media-types.ts";
import type { Rule } from "./config.ts";
import { ReplicationQueue } from "./queue.ts";
import { RuleWorker } from "./worker.ts";

export { ReplicationConfigError, validateReplicationConfig } from "./config.ts";

export function createReplicationPlugin(rules: readonly Rule[]): RegistryPlugin {
  let queue: ReplicationQueue | null = null;
  const workers: RuleWorker[] = [];

  return {
    name: "replication",
    async setup(ctx: PluginContext) {
      // alone: SQLite in dataDir; as one of several replicas: the shared database, drained by all
      const open = await ReplicationQueue.open(ctx.dataDir, ctx.cluster, ctx.log);
      queue = open;
      for (const rule of rules) workers.push(new RuleWorker(rule, open, ctx.registry, ctx.log));

      ctx.on("*", async (event: RegistryEvent) => {
        for (const worker of workers) {
          const job = jobOf(worker.rule, event);
          if (job === null) continue;
          await open.enqueue(worker.rule.name, job.kind, event.target.repository, job.reference, event.target.digest);
          worker.wake();
        }
      }, { durable: true });

      ctx.route("GET", "/api/v1/replication", async () => {
        const states = await Promise.all(
          rules.map(async (rule) => {
            const state = await open.state(rule.name);
            const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
            return {
              name: rule.name,
              url: rule.url,
              repositories: rule.repositories,
              tags: rule.tags,
              deletes: rule.deletes,
              mode: "push",
              state: state.failing > 0 ? "retrying" : state.pending > 0 ? "copying" : "in_sync",
              pending: state.pending,
              failing: state.failing,
              last_success_at: iso(state.lastSuccessAt),
              last_error: state.lastError,
              last_error_at: iso(state.lastErrorAt),
              last_reconcile_at: iso(state.lastReconcileAt),
            };
          }),
        );
        return Response.json({ rules: states });
      });

      for (const worker of workers) {
        // one replica at a time: the jobs it queues are shared, the others would only queue them again
        const reconcile = async () => {
          try {
            await ctx.cluster.exclusive(`reconcile:${worker.rule.name}`, () => reconcileRule(worker, open, ctx.registry));
          } catch (error) {
            ctx.log("warn", "replication: reconcile failed", { rule: worker.rule.name, error: String(error) });
          }
        };
        ctx.every(worker.rule.reconcileMs, reconcile);
        void reconcile(); // what was pushed while Berth was down, or before the rule existed
        worker.start(); // jobs from before a restart (or kill -9) go out now
      }
      ctx.log("info", "replication rules ready", { rules: rules.map((rule) => `${rule.name}=${rule.url}`).join(",") });
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.stop()));
      await queue?.close();
    },
  };
}

/** The job an event means for a rule, or null. Blob events are not replicated (manifests bring their blobs). */
function jobOf(rule: Rule, event: RegistryEvent): { kind: "tag" | "digest" | "delete-tag" | "delete-digest"; reference: string } | null {
  const { repository, tag, digest, mediaType } = event.target;
  if (!rule.wantsRepository(repository)) return null;
  if (tag !== undefined && !rule.wantsTag(tag)) return null;
  if (event.action === "push") {
    if (!isManifestMediaType(mediaType) && !mediaType.includes("manifest") && !mediaType.includes("index")) return null;
    return tag !== undefined ? { kind: "tag", reference: tag } : { kind: "digest", reference: digest };
  }
  if (event.action === "delete" && rule.deletes) {
    if (tag !== undefined) return { kind: "delete-tag", reference: tag };
    if (mediaType !== "" && (isManifestMediaType(mediaType) || mediaType.includes("manifest"))) return { kind: "delete-digest", reference: digest };
  }
  return null;
}

/** Queues every matching tag, and every untagged referrer (signatures follow their subject). */
async function reconcileRule(worker: RuleWorker, queue: ReplicationQueue, reader: RegistryReader): Promise<void> {
  const { rule } = worker;
  for (const repository of await reader.repositories()) {
    if (!rule.wantsRepository(repository)) continue;
    for (const manifest of (await reader.manifests(repository)) ?? []) {
      const tags = manifest.tags.filter((tag) => rule.wantsTag(tag));
      for (const tag of tags) await queue.enqueue(rule.name, "tag", repository, tag, manifest.digest);
      if (manifest.tags.length === 0 && manifest.subject !== null) await queue.enqueue(rule.name, "digest", repository, manifest.digest, manifest.digest);
    }
  }
  await queue.reconciled(rule.name, Date.now());
  worker.wake();
}
