/**
 * Security headers for every response. API answers are JSON or bytes, never pages, so they
 * get the strictest CSP; a route that serves a page (the UI) sets its own CSP first and keeps it.
 */
export function setSecurityHeaders(headers: Headers, options: { tls: boolean }): void {
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Referrer-Policy", "no-referrer");
  if (!headers.has("Content-Security-Policy")) headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  if (options.tls) headers.set("Strict-Transport-Security", "max-age=31536000");
}
