/**
 * Signature checks that verify: a manifest GET in a repository whose policy is `enforce` is
 * refused (403 DENIED) unless a cosign, sigstore-bundle or Notation signature of that manifest
 * verifies with a trusted key, or a certificate chaining to a trusted root with a matching
 * identity, and names this manifest (or an index listing it is so signed). `warn` serves and
 * logs. HEAD, signatures and other referrers are always served. Uses only the plugin API.
 */
import type { PluginContext, RegistryEvent, RegistryPlugin } from "../../src/hooks/types.ts";
import { loadSigningPolicies, type Policy, policyFor } from "./config.ts";
import { type Decision, Decisions, denialMessage } from "./decisions.ts";
import { cosignTag, SignatureFinder } from "./find.ts";
import { parseJson } from "./payload.ts";
import { registerRoutes } from "./routes.ts";
import { StateStore } from "./state.ts";

export { loadSigningPolicies, SigningConfigError } from "./config.ts";

const MAX_CACHED_POLICIES = 10_000;
/** verdicts depend on the time (certificates' validity, Notation's expiry): checked again this often */
const CACHE_LIFETIME_MS = 600_000;
/**
 * With replicas, how long a verdict is used: a signature pushed (or deleted) through another
 * replica counts here within this, plus that replica's metadata.cache_ttl for the tag lookups.
 */
export const SHARED_VERDICT_MAX_AGE_MS = 1_000;

interface Running {
  decisions: Decisions;
  finder: SignatureFinder;
  store: StateStore;
  log: PluginContext["log"];
}

/** @example createSigningPlugin(loadSigningPolicies({ policies: [{ repositories: ["prod/**"], keys: ["/etc/berth/ci.pub"] }] })) */
export function createSigningPlugin(initial: Policy[]): RegistryPlugin {
  let policies = initial;
  let byRepository = new Map<string, Policy | null>();
  let running: Running | null = null;

  const policyOf = (repository: string): Policy | null => {
    let policy = byRepository.get(repository);
    if (policy === undefined) {
      policy = policyFor(policies, repository);
      if (byRepository.size >= MAX_CACHED_POLICIES) byRepository = new Map();
      byRepository.set(repository, policy);
    }
    return policy;
  };

  return {
    name: "signing",
    async setup(ctx: PluginContext) {
      // with replicas, recorded states are shared: GET /api/v1/signatures may land on any of them
      const store = await StateStore.open(ctx.dataDir, ctx.cluster.database, ctx.log);
      const finder = new SignatureFinder(ctx.registry);
      const verifications = ctx.metrics.counter("berth_signature_verifications_total", "Signature verifications made (cached answers not counted), by result.", ["result"]);
      const decisions = new Decisions(ctx.registry, finder, store, ctx.log, {
        verified: (result) => verifications.inc({ result }),
        maxAgeMs: ctx.cluster.database ? SHARED_VERDICT_MAX_AGE_MS : Infinity,
      });
      running = { decisions, finder, store, log: ctx.log };

      ctx.before("manifest.get", async (context) => {
        // HEAD is allowed: signers look the digest up before signing
        if (context.request.method === "HEAD" || context.digest === undefined) return;
        const policy = policyOf(context.repository);
        if (policy === null || policy.mode === "off") return;
        let decision: Decision | null;
        try {
          decision = await (decisions.cached(context.repository, context.digest) ?? decisions.decide(context.repository, context.digest, policy));
        } catch (error) {
          // a check that fails (not a refusal) denies under enforce ([hooks] on_failure), never under warn
          if (policy.mode !== "warn") throw error;
          ctx.log("error", "signature check failed; served (warn mode)", { repository: context.repository, digest: context.digest, error: String(error) });
          return;
        }
        if (decision?.satisfied || policy.mode === "warn") return;
        ctx.deny(denialMessage({ repository: context.repository, digest: context.digest }, policy));
      });

      // awaited before the push or delete is answered: the next pull sees the new signature
      const forget = (event: RegistryEvent) => decisions.forgetRepository(event.target.repository);
      ctx.on("push", forget, { durable: true });
      ctx.on("delete", forget, { durable: true });
      // after the answer: verify what the push concerns, so its recorded state is current
      ctx.on("push", (event) => refreshAfterPush(ctx, decisions, policyOf, event));

      ctx.every(CACHE_LIFETIME_MS, () => {
        finder.forget();
        decisions.forgetAll();
      });

      registerRoutes(ctx, { decisions, store, policies: () => policies });
      ctx.log("info", "signing policies ready", describe(policies));
    },
    /** SIGHUP: the policies, keys and roots are read again; every cached verdict is dropped. */
    reload(options: Record<string, unknown>) {
      policies = loadSigningPolicies(options);
      byRepository = new Map();
      running?.finder.forget();
      running?.decisions.forgetAll();
      running?.log("info", "signing policies reloaded", describe(policies));
    },
    async close() {
      const closing = running?.store.close();
      running = null;
      await closing;
    },
  };
}

/** The manifest a pushed signature signs (its `.sig` tag or its subject), else the pushed manifest itself. */
async function refreshAfterPush(ctx: PluginContext, decisions: Decisions, policyOf: (repository: string) => Policy | null, event: RegistryEvent): Promise<void> {
  const { repository, digest, tag } = event.target;
  const policy = policyOf(repository);
  if (policy === null || policy.mode === "off" || !digest) return;
  let target = digest;
  const signed = tag === undefined ? null : /^(sha256)-([0-9a-f]{64})\.sig$/.exec(tag);
  if (signed && tag === cosignTag(`${signed[1]}:${signed[2]}`)) target = `${signed[1]}:${signed[2]}`;
  else {
    const manifest = await ctx.registry.manifest(repository, digest);
    const json = manifest ? parseJson(manifest.bytes) : undefined;
    const subject = typeof json === "object" && json !== null && "subject" in json ? json.subject : undefined;
    if (typeof subject === "object" && subject !== null && "digest" in subject && typeof subject.digest === "string") target = subject.digest;
  }
  await decisions.decide(repository, target, policy);
}

function describe(policies: Policy[]): Record<string, string | number> {
  return { policies: policies.length, repositories: policies.map((policy) => `${policy.label}:${policy.mode}`).join(" ") };
}
