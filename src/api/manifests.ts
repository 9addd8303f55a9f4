/** GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference> */
import { formatDigest, parseDigest } from "../oci/digest.ts";
import { bareMediaType, isIndexMediaType } from "../oci/media-types.ts";
import type { StoredManifest } from "../registry/registry.ts";
import { methodNotAllowed } from "./errors.ts";
import { readLimitedBody } from "./body.ts";
import { type HandlerContext, linkTo } from "./context.ts";
import { lookupReference, manifestReference, repositoryName } from "./reference.ts";

export async function handleManifest(ctx: HandlerContext, rawName: string, rawReference: string): Promise<Response> {
  const name = repositoryName(rawName);
  const { request } = ctx;
  switch (request.method) {
    case "GET":
    case "HEAD": {
      const stored = await ctx.registry.getManifest(name, lookupReference(rawReference), ctx.info, request.method === "GET");
      // only an index can be swapped for one of its images: the usual pull awaits nothing more
      const chosen = isIndexMediaType(stored.mediaType) ? await negotiate(ctx, name, stored) : stored;
      return manifestResponse(chosen, request.method === "HEAD");
    }
    case "PUT": {
      const reference = manifestReference(rawReference);
      const bytes = await readLimitedBody(request, ctx.options.maxManifestBytes);
      const contentType = request.headers.get("content-type") ?? "";
      const { digest, parsed } = await ctx.registry.putManifest(name, reference, bytes, contentType, ctx.info);
      const headers: Record<string, string> = {
        Location: linkTo(ctx.options, `/v2/${name}/manifests/${formatDigest(digest)}`),
        "Docker-Content-Digest": formatDigest(digest),
        "Content-Length": "0",
      };
      if (parsed.subject) headers["OCI-Subject"] = parsed.subject.digest;
      return new Response(null, { status: 201, headers });
    }
    case "DELETE":
      await ctx.registry.deleteManifest(name, lookupReference(rawReference), ctx.info);
      return new Response(null, { status: 202, headers: { "Content-Length": "0" } });
    default:
      throw methodNotAllowed(request.method, "GET, HEAD, PUT, DELETE");
  }
}

export function manifestResponse(manifest: StoredManifest, headOnly: boolean): Response {
  const digest = formatDigest(manifest.digest);
  return new Response(headOnly ? null : (manifest.bytes as Uint8Array<ArrayBuffer>), {
    status: 200,
    headers: {
      "Content-Type": manifest.mediaType,
      "Content-Length": String(manifest.bytes.byteLength),
      "Docker-Content-Digest": digest,
      ETag: `"${digest}"`,
    },
  });
}

/**
 * Serves the stored index unless the client lists Accept types that exclude it: then, as
 * Distribution does for old clients, the linux/amd64 image it lists, if present.
 */
async function negotiate(ctx: HandlerContext, name: string, stored: StoredManifest): Promise<StoredManifest> {
  const accepted = ctx.request.headers
    .get("accept")
    ?.split(",")
    .map(bareMediaType)
    .filter((type) => type !== "");
  if (!accepted?.length || accepted.includes("*/*") || accepted.includes(stored.mediaType)) return stored;
  const amd64 = stored.parsed.manifests.find(
    (m) => m.platform?.os === "linux" && m.platform.architecture === "amd64" && accepted.includes(m.mediaType),
  );
  if (!amd64) return stored;
  try {
    return await ctx.registry.getManifest(name, { digest: parseDigest(amd64.digest) }, ctx.info, false);
  } catch {
    return stored;
  }
}
