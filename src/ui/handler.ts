/**
 * Serves the web UI at `[ui] path` (default "/"): the page at the path itself, hashed assets
 * under `<path>assets/`. A strict Content-Security-Policy: nothing but this origin's script,
 * style and API; no inline code, no frames.
 */
import { errorResponse, methodNotAllowed } from "../api/errors.ts";
import { RegistryError } from "../oci/errors.ts";
import { uiAssets } from "./assets.ts";

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

export interface UiHandler {
  /** Is this path the UI's (its page or an asset)? */
  handles(path: string): boolean;
  handle(request: Request, url: URL): Response;
}

/** `path` from [ui] path: "/" or "/something" (a trailing slash is added). */
export function createUiHandler(path: string): UiHandler {
  const base = path.endsWith("/") ? path : `${path}/`;
  const assets = uiAssets(base);
  const assetPrefix = `${base}assets/`;
  return {
    handles: (pathname) => pathname === base || pathname === base.slice(0, -1) || pathname === `${base}index.html` || pathname.startsWith(assetPrefix),
    handle(request, url) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return errorResponse(methodNotAllowed(request.method, "GET, HEAD"), request.method);
      }
      const body = (text: string) => (request.method === "HEAD" ? null : text);
      if (url.pathname === base.slice(0, -1) && base !== "/") return new Response(null, { status: 308, headers: { Location: base } });
      if (url.pathname.startsWith(assetPrefix)) {
        const asset = assets.files.get(url.pathname.slice(assetPrefix.length));
        if (!asset) return errorResponse(new RegistryError("NOT_FOUND", { message: `No UI asset ${url.pathname.slice(0, 200)}: reload the page` }), request.method);
        return new Response(body(asset.body), { headers: { ...SECURITY_HEADERS, "Content-Type": asset.contentType, "Cache-Control": "public, max-age=31536000, immutable" } });
      }
      return new Response(body(assets.index), { headers: { ...SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
    },
  };
}
