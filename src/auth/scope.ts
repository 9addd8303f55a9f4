/**
 * Scopes, as the token spec writes them (`repository:team/app:pull,push`, `registry:catalog:*`),
 * and what each /v2/ request needs:
 *   GET/HEAD manifests, blobs, tags, referrers -> pull
 *   POST/PATCH/PUT/GET/DELETE uploads, PUT manifests -> push (a mount also wants pull on `from`)
 *   DELETE manifests, blobs -> delete
 *   /v2/_catalog -> registry:catalog:* (the answer is filtered by pull rights)
 *   /v2/ (and paths that name no endpoint) -> any signed-in caller
 */
import type { Route } from "../api/route.ts";
import type { Action } from "./policy.ts";

export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses one `scope` parameter (space-separated scopes). The name may hold a colon (a
 * registry host with a port), so the type ends at the first colon and the actions start
 * after the last one. Malformed entries are skipped, as the token server must not fail.
 */
export function parseScopes(parameter: string): Scope[] {
  const scopes: Scope[] = [];
  for (const item of parameter.split(" ")) {
    const first = item.indexOf(":");
    const last = item.lastIndexOf(":");
    if (first <= 0 || last <= first + 1) continue;
    // a resource class, repository(plugin), is deprecated and ignored
    const type = item.slice(0, first).replace(/\([a-z0-9]+\)$/, "");
    const name = item.slice(first + 1, last);
    const actions = item.slice(last + 1).split(",").filter((action) => action !== "");
    if (!/^[a-z0-9]+$/.test(type) || actions.length === 0) continue;
    scopes.push({ type, name, actions });
  }
  return scopes;
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(",")}`;
}

/**
 * What one request needs before it may reach the registry: a /v2/ route's (needOf), or what a
 * core /api/v1 route declares (src/api-v1/routes.ts). `admin`: an admin (registry:admin:*);
 * `namespace-admin`: an admin or an admin member of the namespace (namespace:NS:admin).
 */
export type Need =
  | { kind: "signed-in" }
  | { kind: "catalog" }
  | { kind: "admin" }
  | { kind: "namespace-admin"; namespace: string }
  | { kind: "repository"; name: string; action: Action; challenge: Action[]; mountFrom?: string };

export function needOf(route: Route | null, method: string, url: URL): Need {
  if (route === null || route.kind === "base") return { kind: "signed-in" };
  if (route.kind === "catalog") return { kind: "catalog" };
  const read = method === "GET" || method === "HEAD";
  const push = (name: string): Need => ({ kind: "repository", name, action: "push", challenge: ["pull", "push"] });
  switch (route.kind) {
    case "uploads": {
      const need = push(route.name);
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (need.kind === "repository" && mount !== null && from !== null) need.mountFrom = from;
      return need;
    }
    case "upload":
      // every upload request, a cancel (DELETE) too, is part of a push
      return push(route.name);
    case "manifest":
    case "blob":
      if (read) return { kind: "repository", name: route.name, action: "pull", challenge: ["pull"] };
      if (method === "DELETE") return { kind: "repository", name: route.name, action: "delete", challenge: ["delete"] };
      return push(route.name);
    case "tags":
    case "referrers":
      // other methods answer 405 from the handler, after the caller proved they may read
      return { kind: "repository", name: route.name, action: "pull", challenge: ["pull"] };
  }
}
