/** GET /v2/<name>/referrers/<digest> (OCI 1.1): an index of the manifests naming the subject. */
import { parseDigest } from "../oci/digest.ts";
import { MediaType } from "../oci/media-types.ts";
import { methodNotAllowed } from "./errors.ts";
import type { HandlerContext } from "./context.ts";
import { repositoryName } from "./reference.ts";

export async function handleReferrers(ctx: HandlerContext, rawName: string, rawDigest: string): Promise<Response> {
  if (ctx.request.method !== "GET" && ctx.request.method !== "HEAD") throw methodNotAllowed(ctx.request.method, "GET");
  const name = repositoryName(rawName);
  const subject = parseDigest(rawDigest);
  let manifests = await ctx.registry.referrersOf(name, subject);
  const headers: Record<string, string> = { "Content-Type": MediaType.OciIndex };
  const artifactType = ctx.url.searchParams.get("artifactType");
  if (artifactType !== null) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    headers["OCI-Filters-Applied"] = "artifactType";
  }
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests });
  return new Response(ctx.request.method === "HEAD" ? null : body, { status: 200, headers });
}
