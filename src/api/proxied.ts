/**
 * /v2/ reads and writes of names a [[proxy]] may cover: a miss asks the pull-through cache
 * (src/proxy) before storage answers; writes under a proxied prefix are refused. Only called
 * when [[proxy]] is configured, so other registries' requests take the usual path unchanged.
 */
import { formatDigest, parseDigest } from "../oci/digest.ts";
import type { PullThroughCache } from "../proxy/proxy.ts";
import { UpstreamUnavailable } from "../proxy/upstream.ts";
import { handleBlob } from "./blobs.ts";
import type { HandlerContext } from "./context.ts";
import { HttpError } from "./errors.ts";
import { handleManifest, manifestResponse } from "./manifests.ts";
import { lookupReference, repositoryName } from "./reference.ts";

export async function proxiedManifest(ctx: HandlerContext, proxy: PullThroughCache, rawName: string, rawReference: string): Promise<Response> {
  const method = ctx.request.method;
  if (method === "GET" || method === "HEAD") {
    const name = repositoryName(rawName);
    const fetched = await fromUpstream(() => proxy.manifest(name, lookupReference(rawReference)));
    if (fetched) return manifestResponse(fetched, method === "HEAD");
  } else {
    refuseWrites(proxy, rawName);
  }
  return handleManifest(ctx, rawName, rawReference);
}

export async function proxiedBlob(ctx: HandlerContext, proxy: PullThroughCache, rawName: string, rawDigest: string): Promise<Response> {
  const method = ctx.request.method;
  if (method === "GET" || method === "HEAD") {
    const name = repositoryName(rawName);
    const digest = parseDigest(rawDigest);
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream", "Docker-Content-Digest": formatDigest(digest), ETag: `"${formatDigest(digest)}"` };
    if (method === "HEAD") {
      const head = await fromUpstream(() => proxy.blobHead(name, digest));
      if (head) return new Response(null, { status: 200, headers: head.size === null ? headers : { ...headers, "Content-Length": head.size } });
    } else {
      const pulled = await fromUpstream(() => proxy.blob(name, digest));
      if (pulled) return new Response(pulled.body, { status: 200, headers: pulled.size === null ? headers : { ...headers, "Content-Length": pulled.size } });
    }
  } else {
    refuseWrites(proxy, rawName);
  }
  return handleBlob(ctx, rawName, rawDigest);
}

/** 405 UNSUPPORTED for a push or delete under a proxied prefix. */
export function refuseWrites(proxy: PullThroughCache, name: string): void {
  const url = proxy.mirrorOf(name);
  if (url === null) return;
  throw new HttpError("UNSUPPORTED", {
    message: `Repository ${name.slice(0, 200)} is a mirror of ${url}: pushes and deletes are not accepted`,
    headers: { Allow: "GET, HEAD" },
  });
}

/** A miss that no upstream answered is the upstream's failure: 502 naming it. */
async function fromUpstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof UpstreamUnavailable)) throw error;
    throw new HttpError("UNKNOWN", {
      status: 502,
      message: `Not in the cache, and the upstream ${error.url} gave no answer (${error.message})`,
      detail: { upstream: error.url },
    });
  }
}
