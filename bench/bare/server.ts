/**
 * The floor Berth's start-up and small-request rows are measured against: a bare Bun server,
 * compiled with `bun build --compile` like Berth, that answers GET/HEAD /v2/ and GET/HEAD of
 * one manifest from memory with the same bytes and response headers Berth sends for a
 * manifest GET by tag (a fresh X-Request-Id each time, as Berth). It does nothing else a
 * registry does. The manifest is set by a PUT of /v2/<name>/manifests/<tag> (set-up, untimed).
 *
 * Listens on BERTH_HTTP_ADDR (host:port), as the harness starts every target.
 */
const addr = process.env.BERTH_HTTP_ADDR ?? "127.0.0.1:5000";
const colon = addr.lastIndexOf(":");
const hostname = addr.slice(0, colon);
const port = Number(addr.slice(colon + 1));

/** Berth's security headers, in its order */
const SECURITY: ReadonlyArray<[string, string]> = [
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
];
const API_VERSION: [string, string] = ["Docker-Distribution-API-Version", "registry/2.0"];
const MANIFEST_PATH = /^\/v2\/.+\/manifests\/[^/]+$/;

interface Stored {
  path: string;
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  digest: string;
}
let manifest: Stored | null = null;

function headers(first: ReadonlyArray<[string, string]>, after: ReadonlyArray<[string, string]>): Headers {
  return new Headers([...first, ...SECURITY, ...after, API_VERSION, ["X-Request-Id", crypto.randomUUID()]]);
}

const V2_BODY = "{}";

async function store(req: Request, path: string): Promise<Response> {
  const body = new Uint8Array(await req.arrayBuffer());
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(body).digest("hex")}`;
  manifest = { path, body, contentType: req.headers.get("content-type") ?? "application/vnd.oci.image.manifest.v1+json", digest };
  return new Response(null, { status: 201, headers: { Location: path, "Docker-Content-Digest": digest } });
}

Bun.serve({
  hostname,
  port,
  fetch(req) {
    const url = req.url;
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2)).split("?", 1)[0] ?? "";
    if (req.method === "GET" || req.method === "HEAD") {
      if (path === "/v2/") return new Response(V2_BODY, { headers: headers([["Content-Type", "application/json"]], []) });
      if (manifest && path === manifest.path) {
        const etag: [string, string] = ["ETag", `"${manifest.digest}"`];
        return new Response(manifest.body, {
          headers: headers([["Content-Type", manifest.contentType], etag], [["Docker-Content-Digest", manifest.digest]]),
        });
      }
      return new Response(null, { status: 404 });
    }
    if (req.method === "PUT" && MANIFEST_PATH.test(path)) return store(req, path);
    return new Response(null, { status: 404 });
  },
});
