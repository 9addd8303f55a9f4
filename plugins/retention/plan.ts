/**
 * What a retention run would delete, repository by repository: tags no rule keeps (immutable
 * ones excepted), untagged manifests past the policy's `untagged` age, manifests whose tags
 * retention removed once the undo window has passed, and with any manifest that goes, its
 * referrers and cosign signature tags. A tag whose digest another kept tag names loses only
 * the tag; a manifest that loses its last tag stays (restorable) until the window passes.
 */
import type { ManifestSummary, RegistryReader } from "../../src/hooks/types.ts";
import { formatDuration } from "../../src/util/duration.ts";
import type { Policy, RetentionConfig } from "./config.ts";
import { judgeTags, type TagState } from "./rules.ts";
import type { RetentionStore } from "./store.ts";

/** cosign's tag scheme: sha256-<hex>[.sig|.att|.sbom] names the manifest it belongs to */
const SIGNATURE_TAG = /^sha256-([0-9a-f]{64})(?:\.(?:sig|att|sbom))?$/;

export function signatureSubject(tag: string): string | null {
  const match = SIGNATURE_TAG.exec(tag);
  return match ? `sha256:${match[1]}` : null;
}

export interface TagRemoval {
  tag: string;
  digest: string;
  size: number;
  reasons: string[];
}

export interface ManifestRemoval {
  digest: string;
  size: number;
  tags: string[];
  reason: string;
}

export interface RepositoryPlan {
  repository: string;
  policy: number;
  dryRun: boolean;
  tags: TagRemoval[];
  manifests: ManifestRemoval[];
  /** manifests left without a tag by this plan: GC frees them once the undo window has passed */
  orphaned: string[];
}

export interface Plan {
  now: string;
  repositories: RepositoryPlan[];
  bytesFreedAfterGc: number;
}

export interface PlanDeps {
  registry: RegistryReader;
  config: RetentionConfig;
  store: RetentionStore;
  isImmutable(repository: string, tag: string): boolean;
}

function ms(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso);
}

export async function planRepository(deps: PlanDeps, policy: Policy, repository: string, now: number): Promise<RepositoryPlan | null> {
  const manifests = await deps.registry.manifests(repository);
  const tagFacts = await deps.registry.tagFacts(repository);
  if (manifests === null || tagFacts === null) return null;
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const plan: RepositoryPlan = { repository, policy: policy.number, dryRun: policy.dryRun, tags: [], manifests: [], orphaned: [] };

  const ordinary: TagState[] = [];
  for (const tag of tagFacts) {
    if (signatureSubject(tag.name) !== null) continue; // goes with its subject, never alone
    ordinary.push({ name: tag.name, digest: tag.digest, pushedMs: Date.parse(tag.pushedAt), pulledMs: ms(tag.pulledAt) });
  }
  const verdicts = judgeTags(policy, ordinary, now);
  const removedTags = new Set<string>();
  for (const tag of tagFacts) {
    const reasons = verdicts.get(tag.name);
    if (!reasons || reasons.length === 0 || deps.isImmutable(repository, tag.name)) continue;
    plan.tags.push({ tag: tag.name, digest: tag.digest, size: tag.size, reasons });
    removedTags.add(tag.name);
  }
  for (const manifest of manifests) {
    if (manifest.tags.length > 0 && manifest.tags.every((tag) => removedTags.has(tag))) plan.orphaned.push(manifest.digest);
  }

  const going = new Map<string, string>();
  const removals = await deps.store.removalsIn(repository);
  const windowStart = now - deps.config.undoWindowMs;
  const untaggedCutoff = policy.untaggedMs === null ? null : now - policy.untaggedMs;
  for (const manifest of manifests) {
    if (manifest.tags.length > 0 || manifest.indexes.length > 0) continue;
    if (manifest.subject !== null && byDigest.has(manifest.subject)) continue; // a referrer follows its subject
    const removedAt = removals.get(manifest.digest);
    if (removedAt !== undefined) {
      if (removedAt > windowStart) continue; // restorable: held until the undo window has passed
      going.set(manifest.digest, "its tags were removed by retention and the undo window has passed");
      continue;
    }
    const lastUse = Math.max(Date.parse(manifest.pushedAt), ms(manifest.pulledAt) ?? 0);
    if (untaggedCutoff !== null && policy.untaggedMs !== null && lastUse < untaggedCutoff) {
      going.set(manifest.digest, `untagged, not pushed or pulled for more than ${formatDuration(policy.untaggedMs)}`);
    }
  }
  followSubjects(going, manifests);
  for (const [digest, reason] of going) {
    const manifest = byDigest.get(digest);
    if (manifest) plan.manifests.push({ digest, size: manifest.totalSize, tags: manifest.tags, reason });
  }
  return plan;
}

/** Adds the referrers and signature-tagged manifests of every manifest that goes (transitively). */
function followSubjects(going: Map<string, string>, manifests: readonly ManifestSummary[]): void {
  let added = true;
  for (let round = 0; added && round < 8; round++) {
    added = false;
    for (const manifest of manifests) {
      if (going.has(manifest.digest)) continue;
      const subject = manifest.subject ?? manifest.tags.map(signatureSubject).find((s) => s !== null) ?? null;
      if (subject !== null && going.has(subject)) {
        going.set(manifest.digest, `refers to ${subject}, which goes`);
        added = true;
      }
    }
  }
}

/** The plan over every repository a policy matches (the first matching policy applies). */
export async function planAll(deps: PlanDeps, now: number, only: { repository?: string; policies?: readonly Policy[] } = {}): Promise<Plan> {
  const repositories: RepositoryPlan[] = [];
  const names = only.repository === undefined ? await deps.registry.repositories() : [only.repository];
  for (const repository of names) {
    const policy = deps.config.policies.find((p) => p.matches(repository));
    if (!policy || (only.policies && !only.policies.includes(policy))) continue;
    const plan = await planRepository(deps, policy, repository, now);
    if (plan && (plan.tags.length > 0 || plan.manifests.length > 0)) repositories.push(plan);
  }
  const freed = repositories.flatMap((plan) => [...plan.manifests.map((m) => m.digest), ...plan.orphaned].map((digest) => ({ repository: plan.repository, digest })));
  return { now: new Date(now).toISOString(), repositories, bytesFreedAfterGc: await deps.registry.freedBytes(freed) };
}
