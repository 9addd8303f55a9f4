/** Dispatches a /v2/ request to its handler and turns every failure into the spec's envelope. */
import type { RequestInfo } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import { RegistryError } from "../oci/errors.ts";
import { UploadOffsetMismatch } from "../registry/errors.ts";
import type { Registry } from "../registry/registry.ts";
import { handleBlob } from "./blobs.ts";
import type { ApiOptions, HandlerContext } from "./context.ts";
import { errorResponse, methodNotAllowed } from "./errors.ts";
import { failureOf } from "./failures.ts";
import { handleManifest } from "./manifests.ts";
import { handleReferrers } from "./referrers.ts";
import { proxiedBlob, proxiedManifest, refuseWrites } from "./proxied.ts";
import { parseRoute } from "./route.ts";
import { handleCatalog, handleTags } from "./tags.ts";
import { handleUpload, handleUploadStart, uploadHeaders } from "./uploads.ts";

export function createV2Handler(registry: Registry, options: ApiOptions, log: Logger) {
  /**
   * `visible`, from the access layer, limits the catalog to repositories the caller may pull;
   * `url` is the request's when the caller has parsed it already.
   */
  return async function handleV2(request: Request, info: RequestInfo, visible?: (name: string) => boolean, url = new URL(request.url)): Promise<Response> {
    let response: Response;
    try {
      response = await dispatch({ request, url, registry, options, info }, visible);
    } catch (error) {
      const registryError = failureOf(error, log, { request, url, info });
      response = errorResponse(registryError, request.method, headersFor(registryError, options));
    }
    response.headers.set("Docker-Distribution-API-Version", "registry/2.0");
    return response;
  };
}

/** Headers that the data of a domain error asks for (where an upload stands). */
function headersFor(error: RegistryError, options: ApiOptions): Record<string, string> {
  if (error instanceof UploadOffsetMismatch) return uploadHeaders(options, error.repository, error.uploadId, error.offset);
  return {};
}

async function dispatch(ctx: HandlerContext, visible?: (name: string) => boolean): Promise<Response> {
  const route = parseRoute(ctx.url.pathname);
  const { proxy } = ctx.options;
  if (route === null) {
    throw new RegistryError("NOT_FOUND", { message: `No registry endpoint at ${ctx.url.pathname.slice(0, 200)}` });
  }
  switch (route.kind) {
    case "base":
      if (ctx.request.method !== "GET" && ctx.request.method !== "HEAD") throw methodNotAllowed(ctx.request.method, "GET, HEAD");
      return new Response(ctx.request.method === "HEAD" ? null : "{}", {
        status: 200,
        headers: { "Content-Type": "application/json", "Content-Length": "2" },
      });
    case "catalog":
      return handleCatalog(ctx, visible);
    case "tags":
      return handleTags(ctx, route.name);
    case "manifest":
      return proxy ? proxiedManifest(ctx, proxy, route.name, route.reference) : handleManifest(ctx, route.name, route.reference);
    case "uploads":
      if (proxy) refuseWrites(proxy, route.name);
      return handleUploadStart(ctx, route.name);
    case "upload":
      if (proxy) refuseWrites(proxy, route.name);
      return handleUpload(ctx, route.name, route.id);
    case "blob":
      return proxy ? proxiedBlob(ctx, proxy, route.name, route.digest) : handleBlob(ctx, route.name, route.digest);
    case "referrers":
      return handleReferrers(ctx, route.name, route.digest);
  }
}
