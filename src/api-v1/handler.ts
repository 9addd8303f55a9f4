/**
 * Dispatches a core /api/v1 request (routes.ts) to its handler and turns every failure into the
 * spec's error envelope, as /v2/ does: bad input gets its code (NAME_INVALID, DIGEST_INVALID,
 * PAGINATION_NUMBER_INVALID…), a full or read-only disk 507/503, anything else a logged 500.
 */
import type { ApiOptions } from "../api/context.ts";
import { errorResponse, methodNotAllowed } from "../api/errors.ts";
import { failureOf } from "../api/failures.ts";
import { refuseWrites } from "../api/proxied.ts";
import { repositoryName } from "../api/reference.ts";
import type { RequestInfo } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import { parseDigest } from "../oci/digest.ts";
import type { Registry } from "../registry/registry.ts";
import { deleteJson, manifestJson, repositoryJson, tagJson, usageJson } from "./json.ts";
import { listQuery, nextPage, pageFields } from "./query.ts";
import { parseApiV1Route } from "./routes.ts";

export interface ApiV1Context {
  request: Request;
  url: URL;
  registry: Registry;
  options: ApiOptions;
  info: RequestInfo;
  /** the caller's pull rights when auth is on: the list keeps only what they may pull */
  visible: ((name: string) => boolean) | undefined;
}

const REPOSITORY_SORTS = ["name", "pushed", "size"] as const;
const TAG_SORTS = ["name", "pushed"] as const;

export function createApiV1Handler(registry: Registry, options: ApiOptions, log: Logger) {
  return async function handleApiV1(request: Request, info: RequestInfo, visible?: (name: string) => boolean): Promise<Response> {
    const url = new URL(request.url);
    try {
      return await dispatch({ request, url, registry, options, info, visible });
    } catch (error) {
      return errorResponse(failureOf(error, log, { request, url, info }), request.method);
    }
  };
}

function json(ctx: ApiV1Context, body: unknown, status = 200, next: string | null = null): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (next !== null) headers.Link = `<${ctx.options.publicUrl}${next}>; rel="next"`;
  return new Response(ctx.request.method === "HEAD" ? null : JSON.stringify(body), { status, headers });
}

function assertMethod(ctx: ApiV1Context, allowed: string[]): void {
  if (!allowed.includes(ctx.request.method)) throw methodNotAllowed(ctx.request.method, allowed.join(", "));
}

async function dispatch(ctx: ApiV1Context): Promise<Response> {
  const { registry, url } = ctx;
  const route = parseApiV1Route(url.pathname, ctx.request.method);
  switch (route.kind) {
    case "repositories": {
      assertMethod(ctx, ["GET", "HEAD"]);
      const query = listQuery(url, REPOSITORY_SORTS);
      const page = await registry.repositoryFacts(query, ctx.visible);
      const body = { repositories: page.items.map(repositoryJson), ...pageFields(query, page.total) };
      return json(ctx, body, 200, nextPage(url, query, page.total));
    }
    case "repository": {
      assertMethod(ctx, ["GET", "HEAD", "DELETE"]);
      const name = repositoryName(route.name);
      if (ctx.request.method === "DELETE") {
        if (ctx.options.proxy) refuseWrites(ctx.options.proxy, name); // a mirror's content follows its upstream, as /v2/ deletes do
        return json(ctx, deleteJson(await registry.deleteRepository(name, ctx.info)), 202);
      }
      return json(ctx, repositoryJson(await registry.repositoryFactsOf(name)));
    }
    case "tags": {
      assertMethod(ctx, ["GET", "HEAD"]);
      const name = repositoryName(route.name);
      const query = listQuery(url, TAG_SORTS);
      const page = await registry.tagFacts(name, query);
      const body = { name, tags: page.items.map(tagJson), ...pageFields(query, page.total) };
      return json(ctx, body, 200, nextPage(url, query, page.total));
    }
    case "manifest": {
      assertMethod(ctx, ["GET", "HEAD"]);
      const name = repositoryName(route.name);
      return json(ctx, manifestJson(await registry.manifestFacts(name, parseDigest(route.digest))));
    }
    case "usage":
      assertMethod(ctx, ["GET", "HEAD"]);
      return json(ctx, usageJson(await registry.usage()));
  }
}
