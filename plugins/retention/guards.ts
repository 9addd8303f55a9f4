/**
 * Tag immutability and quotas, as before-hooks: a push that would move an immutable tag or
 * exceed a quota, and a delete of an immutable tag, are refused with 403 DENIED naming the rule.
 *
 * They keep no state of their own: each check reads the registry, so replicas agree. Bytes
 * stored come from the index every time; the tag a push would move and the repositories a
 * quota covers may come from the core's caches, at most `metadata.cache_ttl` old with
 * replicas. As in one process, two pushes checked at the same moment may both pass.
 */
import type { BeforeHookContext, PluginContext } from "../../src/hooks/types.ts";
import type { ImmutableRule, Quota, RetentionConfig } from "./config.ts";
import { signatureSubject } from "./plan.ts";
import { formatByteSize } from "./sizes.ts";

export function immutableRuleFor(config: RetentionConfig, repository: string, tag: string): ImmutableRule | null {
  for (const rule of config.immutable) {
    if (!rule.matchesRepository(repository)) continue;
    if (rule.exemptSignatures && signatureSubject(tag) !== null) continue;
    if (rule.tags.some((pattern) => pattern.regex.test(tag))) return rule;
  }
  return null;
}

function describe(rule: ImmutableRule): string {
  return `immutable rule ${rule.number}: repositories ${rule.repositories.join(", ")}, tags ${rule.tags.map((t) => t.source).join(", ")}`;
}

async function quotaProblem(ctx: PluginContext, quota: Quota, adding: number): Promise<string | null> {
  const names = (await ctx.registry.repositories()).filter((name) => quota.matches(name));
  const used = await ctx.registry.storedBytes(names);
  if (used + adding <= quota.maxBytes) return null;
  return `quota exceeded: ${quota.repositories.join(", ")} uses ${formatByteSize(used)} of ${formatByteSize(quota.maxBytes)} (quota ${quota.number}, max_bytes ${quota.limitText})`;
}

export function installGuards(ctx: PluginContext, current: () => RetentionConfig): void {
  ctx.before("manifest.put", async (context: BeforeHookContext) => {
    const config = current();
    const { repository, tag, digest } = context;
    if (tag !== undefined) {
      const rule = immutableRuleFor(config, repository, tag);
      if (rule) {
        const existing = await ctx.registry.manifest(repository, tag);
        if (existing && existing.digest !== digest) ctx.deny(`tag ${repository}:${tag} is immutable (${describe(rule)}): it points at ${existing.digest}; push a new tag instead`);
      }
    }
    for (const quota of config.quotas) {
      if (!quota.matches(repository)) continue;
      const problem = await quotaProblem(ctx, quota, context.manifest?.bytes.byteLength ?? 0);
      if (problem) ctx.deny(problem);
    }
  });
  ctx.before("tag.delete", (context) => {
    const rule = context.tag === undefined ? null : immutableRuleFor(current(), context.repository, context.tag);
    if (rule) ctx.deny(`tag ${context.repository}:${context.tag} is immutable (${describe(rule)}): it cannot be deleted`);
  });
  ctx.before("manifest.delete", async (context) => {
    const config = current();
    if (context.digest === undefined || !config.immutable.some((rule) => rule.matchesRepository(context.repository))) return;
    const facts = await ctx.registry.manifestFacts(context.repository, context.digest);
    for (const tag of facts?.tags ?? []) {
      const rule = immutableRuleFor(config, context.repository, tag);
      if (rule) ctx.deny(`${context.repository}@${context.digest} is tagged ${tag}, which is immutable (${describe(rule)}): it cannot be deleted`);
    }
  });
  const blobGuard = async (context: BeforeHookContext) => {
    for (const quota of current().quotas) {
      if (!quota.matches(context.repository)) continue;
      const problem = await quotaProblem(ctx, quota, context.size ?? 0);
      if (problem) ctx.deny(problem);
    }
  };
  ctx.before("blob.put", blobGuard);
  ctx.before("blob.mount", blobGuard);
}
