/**
 * CORS, so that a registry UI served from another origin (joxit's docker-registry-ui, say) can
 * call the API from a browser. `[http.cors] origins` lists the origins allowed; "*" allows any
 * origin, but without credentials, as browsers require.
 *
 * Preflights (OPTIONS with Origin and Access-Control-Request-Method) on /v2/ and /auth/token
 * are answered here, before authentication: browsers never send credentials with a preflight,
 * and a 401 to one fails the real request (Distribution's known refusal). Every other
 * response to an allowed origin gets Access-Control-Allow-Origin and the headers a UI must
 * read (Docker-Content-Digest, Link, Location, ...).
 */
import { errorResponse } from "../api/errors.ts";
import { RegistryError } from "../oci/errors.ts";

export interface CorsOptions {
  /** exact origins ("https://ui.example.com") or "*" */
  origins: string[];
}

const ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/** Request headers registry clients send beyond the CORS-safelisted ones. */
const ALLOW_HEADERS = "Authorization, Accept, Cache-Control, Content-Type, Content-Range, Range, Docker-Content-Digest, X-Request-Id";
/** Response headers a UI must read; Content-Type and Content-Length are readable anyway. */
const EXPOSE_HEADERS = [
  "Docker-Content-Digest",
  "Docker-Distribution-API-Version",
  "Docker-Upload-UUID",
  "Link",
  "Location",
  "Content-Range",
  "Range",
  "ETag",
  "OCI-Subject",
  "OCI-Filters-Applied",
  "WWW-Authenticate",
  "Retry-After",
  "X-Request-Id",
].join(", ");
/** Seconds a browser may reuse a preflight answer: a changed origin list reaches open tabs soon. */
const MAX_AGE = "600";

export class Cors {
  private readonly exact: Set<string>;
  private readonly anyOrigin: boolean;

  /** @throws Error naming the config key, for an entry that is not an origin or "*" */
  constructor(options: CorsOptions) {
    options.origins.forEach((origin, index) => {
      if (origin !== "*" && !isOrigin(origin)) {
        throw new Error(
          `Invalid config key "http.cors.origins.${index}": expected "*" or an origin (scheme, host and optional port, no path), e.g. "https://ui.example.com"; got ${JSON.stringify(origin)}`,
        );
      }
    });
    this.anyOrigin = options.origins.includes("*");
    this.exact = new Set(options.origins.filter((origin) => origin !== "*"));
  }

  /** A CORS preflight on a path whose API a browser may call: /v2/ and the token service. */
  isPreflight(request: Request, path: string): boolean {
    const covered = path === "/v2" || path.startsWith("/v2/") || path === "/auth/token";
    return (
      covered &&
      request.method === "OPTIONS" &&
      request.headers.has("origin") &&
      request.headers.has("access-control-request-method")
    );
  }

  /** 204 with what the origin may do, or 403 when it is not an allowed origin. Needs no credentials. */
  preflight(request: Request): Response {
    const origin = request.headers.get("origin") ?? "";
    if (!this.exact.has(origin) && !this.anyOrigin) {
      const error = new RegistryError("DENIED", {
        message: `Origin ${origin.slice(0, 200)} is not allowed: add it to [http.cors] origins`,
      });
      return errorResponse(error, request.method);
    }
    return new Response(null, {
      status: 204,
      headers: {
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": MAX_AGE,
      },
    });
  }

  /** Adds the CORS headers for the request's Origin (any response: 401s and errors too). */
  decorate(request: Request, headers: Headers): void {
    // the answer depends on Origin, so caches must key on it, whether or not one was sent
    headers.set("Vary", headers.has("vary") ? `${headers.get("vary")}, Origin` : "Origin");
    const origin = request.headers.get("origin");
    if (origin === null) return;
    if (this.exact.has(origin)) {
      headers.set("Access-Control-Allow-Origin", origin);
      // a UI signed in to the registry sends its credentials; allowed for listed origins only
      headers.set("Access-Control-Allow-Credentials", "true");
    } else if (this.anyOrigin) {
      headers.set("Access-Control-Allow-Origin", "*");
    } else {
      return;
    }
    headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
  }
}

/** A CORS handler when `[http.cors] origins` lists any, else null (CORS off). */
export function createCors(options: CorsOptions): Cors | null {
  return options.origins.length === 0 ? null : new Cors(options);
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
  } catch {
    return false;
  }
}
