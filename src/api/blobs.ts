/** GET, HEAD and DELETE /v2/<name>/blobs/<digest> */
import { parseDigest, formatDigest } from "../oci/digest.ts";
import type { HandlerContext } from "./context.ts";
import { HttpError, methodNotAllowed } from "./errors.ts";
import { parseByteRange } from "./range.ts";
import { repositoryName } from "./reference.ts";

export async function handleBlob(ctx: HandlerContext, rawName: string, rawDigest: string): Promise<Response> {
  const name = repositoryName(rawName);
  const digest = parseDigest(rawDigest);
  const method = ctx.request.method;
  if (method === "DELETE") {
    await ctx.registry.deleteBlob(name, digest, ctx.info);
    return new Response(null, { status: 202, headers: { "Docker-Content-Digest": formatDigest(digest), "Content-Length": "0" } });
  }
  if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(method, "GET, HEAD, DELETE");
  const blob = await ctx.registry.statBlob(name, digest, ctx.info, method === "GET");
  const redirect = method === "GET" ? blob.redirectUrl() : null;
  if (redirect !== null) {
    // as Distribution's redirect: the client fetches the bytes (and any Range) from the bucket
    return new Response(null, { status: 307, headers: { Location: redirect, "Docker-Content-Digest": formatDigest(digest), "Content-Length": "0" } });
  }
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": formatDigest(digest),
    ETag: `"${formatDigest(digest)}"`,
    "Accept-Ranges": "bytes",
    "Cache-Control": "max-age=31536000",
  };
  const range = parseByteRange(ctx.request.headers.get("range"), blob.size);
  if (range === "unsatisfiable") {
    throw new HttpError("RANGE_INVALID", {
      message: `Range "${ctx.request.headers.get("range")}" is outside the blob's ${blob.size} bytes`,
      headers: { "Content-Range": `bytes */${blob.size}` },
    });
  }
  if (range) {
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${blob.size}`;
    headers["Content-Length"] = String(range.end - range.start + 1);
    const body = method === "HEAD" ? null : streamable(blob.content.slice(range.start, range.end + 1));
    return new Response(body, { status: 206, headers });
  }
  headers["Content-Length"] = String(blob.size);
  return new Response(method === "HEAD" ? null : streamable(blob.content), { status: 200, headers });
}

/** A Blob whose size is known locally goes as it is (sendfile); an S3File as its stream (a Response of it would redirect). */
function streamable(content: Blob): Blob | ReadableStream<Uint8Array> {
  return Number.isNaN(content.size) ? content.stream() : content;
}
