/**
 * The retention plugin's admin API: preview, run, past runs, tag restore, quota usage.
 * JSON keys are snake_case like the rest of /api/v1.
 */
import type { PluginContext } from "../../src/hooks/types.ts";
import type { RetentionConfig } from "./config.ts";
import { runJson, planJson } from "./json.ts";
import { planAll } from "./plan.ts";
import type { RunDeps } from "./run.ts";
import { runExclusively, runRetention } from "./run.ts";

export interface ApiDeps extends RunDeps {
  current(): RetentionConfig;
  /** BERTH_TEST_CLOCK=1: run and restore accept ?now= (tests); preview always does */
  testClock: boolean;
}

function error(status: number, code: string, message: string, detail: Record<string, string> | null = null): Response {
  return Response.json({ errors: [{ code, message, detail }] }, { status });
}

class BadRequest extends Error {}

/** ?now= as ms; Date.now() when absent. @throws BadRequest */
function nowOf(url: URL, allowed: boolean): number {
  const raw = url.searchParams.get("now");
  if (raw === null) return Date.now();
  if (!allowed) throw new BadRequest("now= is accepted by run and restore only on a server started with BERTH_TEST_CLOCK=1 (preview takes it always)");
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new BadRequest(`now=${raw.slice(0, 40)} is not an ISO 8601 time`);
  return ms;
}

async function guarded(handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (caught) {
    if (caught instanceof BadRequest) return error(400, "UNSUPPORTED", caught.message);
    throw caught;
  }
}

export function installApi(ctx: PluginContext, deps: ApiDeps): void {
  ctx.route("GET", "/api/v1/retention/preview", (_request, { url }) =>
    guarded(async () => {
      const repository = url.searchParams.get("repository") ?? undefined;
      const plan = await planAll(deps, nowOf(url, true), repository === undefined ? {} : { repository });
      return Response.json(planJson(plan));
    }),
  );
  ctx.route("POST", "/api/v1/retention/run", (_request, { url }) =>
    guarded(async () => {
      const dryRun = url.searchParams.get("dry_run") === "true";
      const now = nowOf(url, deps.testClock);
      const outcome = await runExclusively(deps, () => runRetention(deps, { now, trigger: "api", dryRun }));
      if (!outcome.ran) {
        // as POST /api/v1/gc answers a collection running elsewhere
        return error(409, "UNSUPPORTED", `a retention run is in progress on replica ${outcome.holder}; try again when it ends`, { holder: outcome.holder });
      }
      return Response.json(runJson(outcome.value));
    }),
  );
  ctx.route("GET", "/api/v1/retention/runs", async (_request, { url }) => {
    const limit = Math.min(Math.max(Number(url.searchParams.get("n") ?? 20) || 20, 1), 1000);
    return Response.json({ runs: await deps.store.runs(limit) });
  });
  ctx.route("POST", "/api/v1/repositories/{name}/tags/{tag}/restore", (_request, { url, path }) =>
    guarded(async () => {
      const repository = path.name ?? "";
      const tag = path.tag ?? "";
      const now = nowOf(url, deps.testClock);
      const removal = await deps.store.restorable(repository, tag, now - deps.current().undoWindowMs);
      if (!removal) return error(404, "MANIFEST_UNKNOWN", `No removal of ${repository}:${tag} by retention within the undo window (${Math.round(deps.current().undoWindowMs / 3_600_000)}h) to restore`);
      const existing = await deps.registry.manifest(repository, tag);
      if (existing && existing.digest !== removal.digest) {
        return error(409, "DENIED", `${repository}:${tag} was pushed again since retention removed it (now ${existing.digest}); delete it first to restore ${removal.digest}`);
      }
      if (!(await deps.registry.manifest(repository, removal.digest))) {
        return error(404, "MANIFEST_UNKNOWN", `${repository}@${removal.digest} is gone: it cannot be restored`);
      }
      await deps.registry.tagManifest(repository, tag, removal.digest);
      await deps.store.markRestored(repository, tag, removal.digest, now);
      return Response.json({ repository, tag, digest: removal.digest, removed_at: new Date(removal.removedAt).toISOString() });
    }),
  );
  ctx.route("GET", "/api/v1/retention/immutable", async (_request, { url }) => {
    const repository = url.searchParams.get("repository") ?? "";
    const tags = (await deps.registry.tags(repository).catch(() => [])).filter((tag) => deps.isImmutable(repository, tag));
    return Response.json({ repository, tags });
  });
  ctx.route("GET", "/api/v1/quotas", async () => {
    const names = await deps.registry.repositories();
    const quotas = [];
    for (const quota of deps.current().quotas) {
      const used = await deps.registry.storedBytes(names.filter((name) => quota.matches(name)));
      quotas.push({ repositories: quota.repositories, max_bytes: quota.maxBytes, used_bytes: used });
    }
    return Response.json({ quotas });
  });
}
