/** GET /v2/<name>/tags/list and GET /v2/_catalog, both paginated with n and last. */
import { RegistryError } from "../oci/errors.ts";
import type { Page, PageRequest } from "../registry/registry.ts";
import { type HandlerContext, linkTo } from "./context.ts";
import { methodNotAllowed } from "./errors.ts";
import { repositoryName } from "./reference.ts";

/** Upper bound on one page, so a request cannot ask for an unbounded answer. */
export const MAX_PAGE = 10_000;
const DEFAULT_CATALOG_PAGE = 1000;

function readPage(url: URL, defaultLimit: number): PageRequest {
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

function pageResponse(ctx: HandlerContext, json: string, nextPath: string | null): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (nextPath !== null) headers.Link = `<${linkTo(ctx.options, nextPath)}>; rel="next"`;
  return new Response(ctx.request.method === "HEAD" ? null : json, { status: 200, headers });
}

function nextPath(path: string, request: PageRequest, page: Page): string | null {
  return page.next === null ? null : `${path}?n=${request.limit}&last=${encodeURIComponent(page.next)}`;
}

function assertRead(ctx: HandlerContext): void {
  if (ctx.request.method !== "GET" && ctx.request.method !== "HEAD") throw methodNotAllowed(ctx.request.method, "GET, HEAD");
}

export async function handleTags(ctx: HandlerContext, rawName: string): Promise<Response> {
  assertRead(ctx);
  const name = repositoryName(rawName);
  const request = readPage(ctx.url, MAX_PAGE);
  if (request.last === null && !ctx.url.searchParams.has("n")) {
    const whole = await ctx.registry.tagListJson(name, MAX_PAGE);
    if (whole !== null) return pageResponse(ctx, whole, null);
  }
  const page = await ctx.registry.tagPage(name, request);
  return pageResponse(ctx, JSON.stringify({ name, tags: page.names }), nextPath(`/v2/${name}/tags/list`, request, page));
}

/** `visible` (set when auth is on) keeps only the repositories the caller may pull, before paging. */
export async function handleCatalog(ctx: HandlerContext, visible?: (name: string) => boolean): Promise<Response> {
  assertRead(ctx);
  const request = readPage(ctx.url, DEFAULT_CATALOG_PAGE);
  const page = await ctx.registry.catalogPage(request, visible);
  return pageResponse(ctx, JSON.stringify({ repositories: page.names }), nextPath("/v2/_catalog", request, page));
}
