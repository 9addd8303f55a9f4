/**
 * The core /api/v1 routes Berth serves itself (docs/api.md), and what each request needs from
 * the access layer: the repository read routes are open to whoever may pull the repository, as
 * /v2/ is; the list to whoever may list the catalog (filtered by pull rights); usage and
 * repository deletes to admins. GC and plugin routes stay with the admin-only /api/ routes.
 *
 * Names contain "/", so the resource is read from the end of the path, as for /v2/.
 */
import type { Need } from "../auth/scope.ts";

export type ApiV1Route =
  | { kind: "repositories" }
  | { kind: "repository"; name: string }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; digest: string }
  | { kind: "usage" };

const REPOSITORIES = "/api/v1/repositories";
const USAGE = "/api/v1/usage";

/** True for the paths this module answers (dispatched before the plugin routes). */
export function isApiV1Path(path: string): boolean {
  return path === REPOSITORIES || path.startsWith(`${REPOSITORIES}/`) || path === USAGE || path === `${USAGE}/`;
}

/**
 * The route of a path under isApiV1Path. A DELETE always names a whole repository, so
 * `DELETE …/team/tags` deletes the repository `team/tags` (the tags route is read-only).
 */
export function parseApiV1Route(pathname: string, method: string): ApiV1Route {
  if (pathname === USAGE || pathname === `${USAGE}/`) return { kind: "usage" };
  const rest = pathname.slice(REPOSITORIES.length + 1).replace(/\/$/, "");
  if (rest === "") return { kind: "repositories" };
  const manifest = /^(.+)\/manifests\/([^/]+)$/.exec(rest);
  if (manifest && method !== "DELETE") return { kind: "manifest", name: manifest[1] as string, digest: manifest[2] as string };
  const tags = /^(.+)\/tags$/.exec(rest);
  if (tags && method !== "DELETE") return { kind: "tags", name: tags[1] as string };
  return { kind: "repository", name: rest };
}

/** What a request needs; other methods than the route's answer 405 once the caller proved they may read. */
export function apiV1Need(request: Request, url: URL): Need {
  const route = parseApiV1Route(url.pathname, request.method);
  switch (route.kind) {
    case "usage":
      return { kind: "admin" };
    case "repositories":
      return { kind: "catalog" };
    case "repository":
      if (request.method === "DELETE") return { kind: "admin" };
      return { kind: "repository", name: route.name, action: "pull", challenge: ["pull"] };
    case "tags":
    case "manifest":
      return { kind: "repository", name: route.name, action: "pull", challenge: ["pull"] };
  }
}
