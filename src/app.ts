/**
 * createApp wires the HTTP surface: /v2/ (the registry API), /auth/token, plugin routes under
 * /api/, /healthz, and one log line per request. It does not listen; serve.ts does.
 *
 * The registry's own paths are dispatched here, by the URL's parsed pathname, before Elysia:
 * Elysia 1.4 finds the path with indexOf("/", 11) and so misroutes every request whose Host
 * is shorter than four characters (`Host: hub`, a Kubernetes service named `reg`).
 * Elysia serves what is left (and the web UI later).
 */
import type { Server } from "bun";
import { Elysia } from "elysia";
import type { ApiOptions } from "./api/context.ts";
import { errorResponse, RegistryError } from "./api/errors.ts";
import { createV2Handler } from "./api/v2.ts";
import type { RequestInfo } from "./hooks/types.ts";
import type { PluginRoutes } from "./hooks/routes.ts";
import type { Logger } from "./log.ts";
import type { Registry } from "./registry/registry.ts";
import { setSecurityHeaders } from "./auth/headers.ts";
import type { AuthGate } from "./auth/setup.ts";

export interface AppDeps {
  registry: Registry;
  options: ApiOptions;
  log: Logger;
  routes: PluginRoutes;
  /** access control (src/auth); absent when [auth] is off and everything is open */
  auth?: AuthGate;
  /** served over HTTPS (adds HSTS) */
  tls?: boolean;
}

type Handler = (request: Request, info: RequestInfo) => Promise<Response>;
type AddressOf = (request: Request) => string;

export function createApp({ registry, options, log, routes, auth, tls = false }: AppDeps) {
  const v2 = createV2Handler(registry, options, log);

  /** Request id, client address, security headers and the access log line, for every route. */
  const observed = (handler: Handler) => async (request: Request, addressOf: AddressOf) => {
    const started = performance.now();
    const info = requestInfo(request, addressOf(request));
    const response = await handler(request, info);
    response.headers.set("X-Request-Id", info.id);
    setSecurityHeaders(response.headers, { tls });
    log("info", "request", {
      id: info.id,
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      bytes: Number(response.headers.get("content-length") ?? 0),
      ms: Math.round((performance.now() - started) * 10) / 10,
      addr: info.addr,
      actor: info.actor,
    });
    return response;
  };
  const secured = (response: Response) => {
    setSecurityHeaders(response.headers, { tls });
    return response;
  };
  const handleV2 = observed(auth ? auth.guardV2(v2) : v2);
  const handleHealth = observed(async () => {
    const health = await registry.health();
    return Response.json(health, { status: health.status === "ok" ? 200 : 503 });
  });
  const api: Handler = async (request) => routes.handle(request);
  const handleApi = observed(auth ? auth.guardAdmin(api) : api);
  const handleToken = observed(async (request, info) =>
    auth ? auth.token(request, info) : errorResponse(new RegistryError("NOT_FOUND", { message: "Authentication is off" }), request.method),
  );

  const fallback = new Elysia()
    .onError(({ code, request }) => {
      if (code === "NOT_FOUND") {
        const error = new RegistryError("NOT_FOUND", { message: `No endpoint at ${new URL(request.url).pathname.slice(0, 200)}` });
        return secured(errorResponse(error, request.method));
      }
      log("error", "unhandled", { code: String(code) });
      return secured(errorResponse(new RegistryError("UNKNOWN", { message: "Internal error; the server log has the details" }), request.method));
    });

  return {
    /** Bun.serve's fetch handler. */
    fetch(request: Request, server: Server<undefined>): Promise<Response> | Response {
      const path = new URL(request.url).pathname;
      const addressOf = addressFrom(server);
      if (path === "/v2" || path.startsWith("/v2/")) return handleV2(request, addressOf);
      if (path.startsWith("/api/")) return handleApi(request, addressOf);
      if (path === "/auth/token") return handleToken(request, addressOf);
      if (path === "/healthz" && (request.method === "GET" || request.method === "HEAD")) return handleHealth(request, addressOf);
      return fallback.handle(request);
    },
  };
}

function addressFrom(server: Server<undefined>): AddressOf {
  return (request) => server.requestIP(request)?.address ?? "";
}

function requestInfo(request: Request, addr: string): RequestInfo {
  const headers = request.headers;
  return {
    id: headers.get("x-request-id")?.slice(0, 128) ?? crypto.randomUUID(),
    addr,
    // bounded: these travel into every event and the webhook queue
    host: (headers.get("host") ?? "").slice(0, 256),
    method: request.method,
    useragent: (headers.get("user-agent") ?? "").slice(0, 256),
    actor: "",
  };
}

export type App = ReturnType<typeof createApp>;
