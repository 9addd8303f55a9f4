/**
 * GET /metrics: the Prometheus text page. On its own listener ([metrics] addr) it is open to
 * whoever reaches that address; on the main one it answers a bearer `[metrics] token` or, once
 * [auth] is on, an admin; otherwise it is off there (404), as an open registry makes everyone
 * an admin.
 */
import { timingSafeEqual } from "node:crypto";
import { errorResponse } from "../api/errors.ts";
import type { Logger } from "../log.ts";
import { RegistryError } from "../oci/errors.ts";
import type { MetricsRegistry } from "./registry.ts";

const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricsPage = (request: Request) => Promise<Response>;

export function metricsPage(metrics: MetricsRegistry, log: Logger): MetricsPage {
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return errorResponse(new RegistryError("UNSUPPORTED", { message: "GET /metrics only" }), request.method, { Allow: "GET, HEAD" });
    }
    const text = await metrics.render((error) => log("error", "a metrics source failed; its series keep their last values", { error: String(error) }));
    return new Response(request.method === "HEAD" ? null : text, { headers: { "Content-Type": CONTENT_TYPE } });
  };
}

/** Does the request carry `Authorization: Bearer <token>` ("" never matches)? */
export function bearsToken(request: Request, token: string): boolean {
  if (token === "") return false;
  const header = request.headers.get("authorization") ?? "";
  if (!/^bearer /i.test(header)) return false;
  const given = Buffer.from(header.slice(7).trim());
  const expected = Buffer.from(token);
  return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
}

/** /metrics on the main listener when neither a token nor an admin may read it. */
export function metricsOff(request: Request): Response {
  const error = new RegistryError("NOT_FOUND", { message: "GET /metrics is served on [metrics] addr, or here with [metrics] token or to admins once [auth] is on" });
  return errorResponse(error, request.method);
}

/** A separate listener that serves GET /metrics and nothing else. */
export function openMetricsListener(hostname: string, port: number, page: MetricsPage): { port: number; stop(): Promise<void> } {
  const server = Bun.serve({
    hostname,
    port,
    development: false,
    fetch: (request) => (new URL(request.url).pathname === "/metrics" ? page(request) : errorResponse(new RegistryError("NOT_FOUND", { message: "This listener serves GET /metrics only" }), request.method)),
    error: () => new Response("internal error", { status: 500 }),
  });
  return { port: server.port ?? port, stop: () => server.stop() };
}
