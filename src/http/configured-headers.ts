/**
 * `http.headers`: headers added to every response, as registry:2's `http.headers` (a name maps
 * to a value or a list of values; a list gives one header line per value).
 *
 * A configured header replaces Berth's own value of the same name, so an operator can change
 * the security headers (X-Frame-Options, Content-Security-Policy, ...) deliberately. Headers
 * that Berth computes for each response (framing, Location, digests, challenges) cannot be
 * configured: a fixed value would be wrong on most responses and break clients.
 */

export type HeaderConfig = Record<string, string | string[]>;

/** Lower-case names Berth sets per response; configuring them stops start-up. */
const COMPUTED = new Set([
  "allow",
  "connection",
  "content-encoding",
  "content-length",
  "content-range",
  "content-type",
  "date",
  "docker-content-digest",
  "docker-distribution-api-version",
  "docker-upload-uuid",
  "etag",
  "keep-alive",
  "link",
  "location",
  "oci-filters-applied",
  "oci-subject",
  "range",
  "retry-after",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "www-authenticate",
  "x-request-id",
]);

export interface ConfiguredHeaderOptions {
  /** [http.cors] is on: it answers Access-Control-* itself, per origin */
  cors: boolean;
}

/**
 * Checks `http.headers` and returns the function that adds them to a response's headers.
 * @throws Error naming the key: an invalid name or value, or a header Berth computes itself.
 */
export function configuredHeaders(config: HeaderConfig, options: ConfiguredHeaderOptions): (headers: Headers) => void {
  const entries = Object.entries(config).map(([name, value]) => {
    const values = typeof value === "string" ? [value] : value;
    const key = `http.headers.${name}`;
    const probe = new Headers();
    for (const item of values) {
      try {
        probe.append(name, item);
      } catch {
        throw new Error(`Invalid config key "${key}": not a valid HTTP header name and value; got ${JSON.stringify(item)}`);
      }
    }
    const lower = name.toLowerCase();
    if (COMPUTED.has(lower)) {
      throw new Error(`Invalid config key "${key}": Berth sets ${name} itself on each response; it cannot be configured`);
    }
    if (options.cors && lower.startsWith("access-control-")) {
      throw new Error(`Invalid config key "${key}": [http.cors] answers CORS for each origin; remove the Access-Control-* headers from http.headers`);
    }
    return { name, values };
  });
  return (headers) => {
    for (const { name, values } of entries) {
      headers.delete(name);
      for (const value of values) headers.append(name, value);
    }
  };
}
