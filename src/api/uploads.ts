/** POST /v2/<name>/blobs/uploads/ and PATCH/PUT/GET/DELETE /v2/<name>/blobs/uploads/<id> */
import { formatDigest, parseDigest } from "../oci/digest.ts";
import { assertRepositoryName } from "../oci/name.ts";
import { methodNotAllowed } from "./errors.ts";
import { type ApiOptions, type HandlerContext, linkTo } from "./context.ts";
import { parseContentRange } from "./range.ts";
import { repositoryName, requiredDigestParam } from "./reference.ts";

/** POST: start an upload, upload in one request (?digest=), or mount (?mount=&from=). */
export async function handleUploadStart(ctx: HandlerContext, rawName: string): Promise<Response> {
  const name = repositoryName(rawName);
  if (ctx.request.method !== "POST") throw methodNotAllowed(ctx.request.method, "POST");
  const params = ctx.url.searchParams;
  const mount = params.get("mount");
  const from = params.get("from");
  if (mount !== null && from !== null) {
    const digest = parseDigest(mount);
    assertRepositoryName(from);
    if (await ctx.registry.mountBlob(name, digest, from, ctx.info)) return blobCreated(ctx, name, formatDigest(digest));
  }
  const monolithicDigest = params.get("digest");
  const digest = monolithicDigest === null ? null : parseDigest(monolithicDigest); // before any state is made
  const id = await ctx.registry.startUpload(name);
  if (digest !== null) {
    try {
      await ctx.registry.completeUpload(name, id, digest, ctx.request.body, ctx.info);
    } catch (error) {
      // the client never learned this session's id: nobody could resume it, so it goes now
      await ctx.registry.cancelUpload(name, id).catch(() => undefined);
      throw error;
    }
    return blobCreated(ctx, name, formatDigest(digest));
  }
  return uploadAccepted(ctx, name, id, 0);
}

/** PATCH, PUT, GET and DELETE on an upload session. */
export async function handleUpload(ctx: HandlerContext, rawName: string, id: string): Promise<Response> {
  const name = repositoryName(rawName);
  const { request } = ctx;
  switch (request.method) {
    case "PATCH": {
      const range = parseContentRange(request.headers.get("content-range"));
      const offset = await ctx.registry.appendUpload(name, id, request.body, range);
      return uploadAccepted(ctx, name, id, offset);
    }
    case "PUT": {
      const digest = requiredDigestParam(ctx.url);
      const range = parseContentRange(request.headers.get("content-range"));
      if (range) await ctx.registry.appendUpload(name, id, request.body, range);
      await ctx.registry.completeUpload(name, id, digest, range ? null : request.body, ctx.info);
      return blobCreated(ctx, name, formatDigest(digest));
    }
    case "GET":
    case "HEAD": {
      const offset = await ctx.registry.uploadOffset(name, id);
      return new Response(null, { status: 204, headers: { ...uploadHeaders(ctx.options, name, id, offset), "Content-Length": "0" } });
    }
    case "DELETE":
      await ctx.registry.cancelUpload(name, id);
      return new Response(null, { status: 204 });
    default:
      throw methodNotAllowed(request.method, "GET, PATCH, PUT, DELETE");
  }
}

/** Where an upload stands: the bytes received (Range), its id, and where to send the next chunk. */
export function uploadHeaders(options: ApiOptions, name: string, id: string, offset: number): Record<string, string> {
  return {
    Range: `0-${Math.max(offset - 1, 0)}`,
    "Docker-Upload-UUID": id,
    Location: linkTo(options, `/v2/${name}/blobs/uploads/${id}`),
  };
}

function uploadAccepted(ctx: HandlerContext, name: string, id: string, offset: number): Response {
  return new Response(null, { status: 202, headers: { ...uploadHeaders(ctx.options, name, id, offset), "Content-Length": "0" } });
}

function blobCreated(ctx: HandlerContext, name: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: {
      Location: linkTo(ctx.options, `/v2/${name}/blobs/${digest}`),
      "Docker-Content-Digest": digest,
      "Content-Length": "0",
    },
  });
}
