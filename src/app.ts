/**
 * createApp wires the HTTP surface: /v2/ (the registry API), /healthz, plugin routes under
 * /api/, and one log line per request. It does not listen; main.ts (or a test) does.
 */
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
    const ok = await registry.healthy();
    return Response.json({ status: ok ? "ok" : "storage not writable", storage: ok }, { status: ok ? 200 : 503 });
  });
  const api: Handler = async (request) => routes.handle(request);
  const handleApi = observed(auth ? auth.guardAdmin(api) : api);
  const handleToken = observed(async (request, info) =>
    auth ? auth.token(request, info) : errorResponse(new RegistryError("NOT_FOUND", { message: "Authentication is off" }), request.method),
  );

  return new Elysia()
    .onError(({ code, request }) => {
      if (code === "NOT_FOUND") {
        const error = new RegistryError("NOT_FOUND", { message: `No endpoint at ${new URL(request.url).pathname.slice(0, 200)}` });
        return secured(errorResponse(error, request.method));
      }
      log("error", "unhandled", { code: String(code) });
      return secured(errorResponse(new RegistryError("UNKNOWN", { message: "Internal error; the server log has the details" }), request.method));
    })
    .all("/v2", ({ request, server }) => handleV2(request, addressFrom(server)), { parse: "none" })
    .all("/v2/*", ({ request, server }) => handleV2(request, addressFrom(server)), { parse: "none" })
    .all("/api/*", ({ request, server }) => handleApi(request, addressFrom(server)), { parse: "none" })
    .all("/auth/token", ({ request, server }) => handleToken(request, addressFrom(server)), { parse: "none" })
    .get("/healthz", ({ request, server }) => handleHealth(request, addressFrom(server)));
}

function addressFrom(server: { requestIP(request: Request): { address: string } | null } | null): AddressOf {
  return (request) => server?.requestIP(request)?.address ?? "";
}

function requestInfo(request: Request, addr: string): RequestInfo {
  const headers = request.headers;
  return {
    id: headers.get("x-request-id")?.slice(0, 128) ?? crypto.randomUUID(),
    addr,
    host: headers.get("host") ?? "",
    method: request.method,
    useragent: headers.get("user-agent") ?? "",
    actor: "",
  };
}

export type App = ReturnType<typeof createApp>;
