/** GET /v2/<name>/tags/list and GET /v2/_catalog, both paginated with n and last. */
import type { Registry } from "../registry/registry.ts";
import type { HandlerContext } from "./context.ts";
import { linkTo } from "./context.ts";
import { RegistryError } from "./errors.ts";
import { methodNotAllowed } from "./blobs.ts";
import { repositoryName } from "./reference.ts";
import { compareTags, upperBound } from "../registry/sorted.ts";

/** Upper bound on one page, so a request cannot ask for an unbounded answer. */
export const MAX_PAGE = 10_000;
const DEFAULT_CATALOG_PAGE = 1000;

interface Page {
  limit: number;
  last: string | null;
}

function readPage(url: URL, defaultLimit: number): Page {
  const n = url.searchParams.get("n");
  let limit = defaultLimit;
  if (n !== null) {
    if (!/^\d{1,9}$/.test(n)) {
      throw new RegistryError("PAGINATION_NUMBER_INVALID", {
        message: `Invalid page size n="${n.slice(0, 20)}": a whole number from 0 to ${MAX_PAGE}`,
        detail: { n: n.slice(0, 20) },
      });
    }
    limit = Math.min(Number(n), MAX_PAGE);
  }
  return { limit, last: url.searchParams.get("last") };
}

function pageResponse(ctx: HandlerContext, body: object | string, nextPath: string | null): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (nextPath !== null) headers.Link = `<${linkTo(ctx.options, nextPath)}>; rel="next"`;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Response(ctx.request.method === "HEAD" ? null : text, { status: 200, headers });
}

/**
 * The whole-list answer (no n, no last) serialised once per repository and tag version:
 * for 10,000 tags, JSON.stringify is most of the cost of the request.
 */
const wholeListsByRegistry = new WeakMap<Registry, Map<string, { version: number; body: string }>>();
const WHOLE_LISTS_KEPT = 256;

function wholeListBody(registry: Registry, name: string, version: number, tags: readonly string[]): string {
  let wholeLists = wholeListsByRegistry.get(registry);
  if (!wholeLists) wholeListsByRegistry.set(registry, (wholeLists = new Map()));
  const cached = wholeLists.get(name);
  if (cached?.version === version) return cached.body;
  const body = JSON.stringify({ name, tags });
  wholeLists.delete(name);
  wholeLists.set(name, { version, body });
  if (wholeLists.size > WHOLE_LISTS_KEPT) wholeLists.delete(wholeLists.keys().next().value as string);
  return body;
}

function assertRead(ctx: HandlerContext): void {
  if (ctx.request.method !== "GET" && ctx.request.method !== "HEAD") throw methodNotAllowed(ctx.request.method, "GET, HEAD");
}

export async function handleTags(ctx: HandlerContext, rawName: string): Promise<Response> {
  assertRead(ctx);
  const name = repositoryName(rawName);
  const version = ctx.registry.tagsVersion(name); // read before the list: a change in between only wastes the memo
  const all = await ctx.registry.tags(name);
  const { limit, last } = readPage(ctx.url, MAX_PAGE);
  if (last === null && !ctx.url.searchParams.has("n") && all.length <= limit) {
    return pageResponse(ctx, wholeListBody(ctx.registry, name, version, all), null);
  }
  const start = last === null ? 0 : upperBound(all, last, compareTags);
  const tags = all.slice(start, start + limit);
  const more = start + limit < all.length && tags.length > 0;
  const next = more ? `/v2/${name}/tags/list?n=${limit}&last=${encodeURIComponent(tags[tags.length - 1] as string)}` : null;
  return pageResponse(ctx, { name, tags }, next);
}

/** `visible` (set when auth is on) keeps only the repositories the caller may pull, before paging. */
export async function handleCatalog(ctx: HandlerContext, visible?: (name: string) => boolean): Promise<Response> {
  assertRead(ctx);
  const { limit, last } = readPage(ctx.url, DEFAULT_CATALOG_PAGE);
  const page = visible ? visiblePage(await ctx.registry.catalog.all(), visible, limit, last) : await ctx.registry.catalog.page(limit, last);
  const next = page.next === null ? null : `/v2/_catalog?n=${limit}&last=${encodeURIComponent(page.next)}`;
  return pageResponse(ctx, { repositories: page.names }, next);
}

function visiblePage(all: readonly string[], visible: (name: string) => boolean, limit: number, last: string | null) {
  const names = all.filter(visible);
  const start = last === null ? 0 : upperBound(names, last);
  const slice = names.slice(start, start + limit);
  return { names: slice, next: start + limit < names.length && slice.length > 0 ? (slice[slice.length - 1] as string) : null };
}
