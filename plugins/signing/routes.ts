/**
 * The signing plugin's admin API (admin-only once auth is on, like every plugin route):
 *   GET /api/v1/repositories/<name>/manifests/<digest or tag>/signatures
 *       verifies now and reports each signature found (what `berth verify` prints)
 *   GET /api/v1/signatures?repository=<name>
 *       the recorded state of each manifest, by digest (for the UI's badge; nothing verified)
 */
import type { PluginContext } from "../../src/hooks/types.ts";
import { assertRepositoryName } from "../../src/oci/name.ts";
import { RegistryError } from "../../src/oci/errors.ts";
import { type Policy, policyFor } from "./config.ts";
import type { Decisions } from "./decisions.ts";
import type { StateStore } from "./state.ts";

export interface RouteDeps {
  decisions: Decisions;
  store: StateStore;
  policies: () => Policy[];
}

export function registerRoutes(ctx: PluginContext, deps: RouteDeps): void {
  ctx.route("GET", "/api/v1/repositories/{name}/manifests/{digest}/signatures", async (_request, { path }) => {
    const repository = path.name ?? "";
    const reference = decodeURIComponent(path.digest ?? "");
    assertRepositoryName(repository);
    const manifest = await ctx.registry.manifest(repository, reference);
    if (!manifest) throw new RegistryError("MANIFEST_UNKNOWN", { message: `No manifest ${reference} in ${repository}`, detail: { repository, reference } });
    const policy = policyFor(deps.policies(), repository);
    const head = { repository, digest: manifest.digest, policy: policy?.label ?? null, mode: policy?.mode ?? "off" };
    if (!policy) return Response.json({ ...head, state: "not-required", satisfied: true, signer: "", index: null, signatures: [] });
    deps.decisions.forgetManifest(repository, manifest.digest); // verify now, not from the cache
    const decision = await deps.decisions.decide(repository, manifest.digest, policy);
    if (!decision) throw new RegistryError("MANIFEST_UNKNOWN", { message: `No manifest ${reference} in ${repository}`, detail: { repository, reference } });
    return Response.json({
      ...head,
      state: decision.state,
      satisfied: policy.mode === "off" || decision.satisfied,
      signer: decision.signer,
      index: decision.index,
      signatures: decision.signatures,
    });
  });

  ctx.route("GET", "/api/v1/signatures", async (_request, { url }) => {
    const repository = url.searchParams.get("repository") ?? "";
    assertRepositoryName(repository);
    const manifests = Object.fromEntries(
      Object.entries(await deps.store.ofRepository(repository)).map(([digest, state]) => [
        digest,
        { state: state.state, policy: state.policy, mode: state.mode, signer: state.signer, checked_at: state.checkedAt },
      ]),
    );
    return Response.json({ repository, manifests });
  });
}
