/**
 * createApp wires the HTTP surface: /v2/ (the registry API), /auth/token, Berth's read API and
 * repository deletes under /api/v1/ (src/api-v1), GC and plugin routes under /api/, /healthz,
 * and one log line per request. It does not listen; serve.ts does. The same wiring, without
 * the access layer and limited to /api/ and /healthz, answers the admin socket.
 *
 * The registry's own paths are dispatched here, by the URL's parsed pathname, before Elysia:
 * Elysia 1.4 finds the path with indexOf("/", 11) and so misroutes every request whose Host
 * is shorter than four characters (`Host: hub`, a Kubernetes service named `reg`).
 * Elysia serves what is left (and the web UI later).
 *
 * Every answer, whatever produced it, passes `observed`: request id, security, configured and
 * CORS headers, Date, and one access-log line with the body size. A request whose target Bun
 * cannot turn into a URL (`Host: a/b`, `CONNECT host:443`) gets 400; anything thrown gets a
 * 500 envelope, never Bun's error page.
 */
import type { Server } from "bun";
import { Elysia } from "elysia";
import type { ApiOptions } from "./api/context.ts";
import { errorResponse, HttpError, internalError } from "./api/errors.ts";
import { RegistryError } from "./oci/errors.ts";
import { createV2Handler } from "./api/v2.ts";
import type { UiHandler } from "./ui/handler.ts";
import { createApiV1Handler } from "./api-v1/handler.ts";
import { accountsNeed } from "./api-v1-admin/accounts-routes.ts";
import { apiV1Need, isApiV1Path } from "./api-v1/routes.ts";
import type { RequestInfo } from "./hooks/types.ts";
import type { PluginRoutes } from "./plugins-host/routes.ts";
import { type Logger, logs } from "./log.ts";
import type { Registry } from "./registry/registry.ts";
import { setSecurityHeaders } from "./auth/headers.ts";
import type { AuthGate } from "./auth/setup.ts";
import { reportBodySize } from "./http/body-size.ts";
import { configuredHeaders, type HeaderConfig } from "./http/configured-headers.ts";
import { createCors } from "./http/cors.ts";
import { auditRequest, mayAudit, type SecurityCounts } from "./audit/http.ts";
import type { AuditLog } from "./audit/log.ts";
import type { HandlerName, HttpMetrics } from "./metrics/http-metrics.ts";
import { bearsToken, type MetricsPage, metricsOff } from "./metrics/page.ts";

export interface AppDeps {
  registry: Registry;
  options: ApiOptions;
  log: Logger;
  routes: PluginRoutes;
  /** access control (src/auth); absent when [auth] is off and everything is open */
  auth?: AuthGate;
  /** served over HTTPS (adds HSTS) */
  tls?: boolean;
  /** `http.headers` and `[http.cors]` */
  http?: { headers: HeaderConfig; cors: { origins: string[] } };
  /**
   * The admin socket's app: its requests are the operator's on this machine, named `actor` in
   * the log; there is no access layer, so only /api/ and /healthz are served (not /v2/).
   */
  operator?: { actor: string };
  /** the web UI ([ui]); absent when it is off (and on the admin socket) */
  ui?: UiHandler;
  /** metrics and the audit log (src/metrics, src/audit); absent in tests that do without */
  ops?: Operations;
}

export interface Operations {
  http: HttpMetrics;
  audit: AuditLog;
  security: SecurityCounts;
  page: MetricsPage;
  /** [metrics] token: a bearer that may read /metrics here ("" for none) */
  token: string;
}

/** `url` is the request's, parsed once by the dispatcher (null only for a target that is no URL). */
type Handler = (request: Request, info: RequestInfo, url: URL | null) => Promise<Response>;
type AddressOf = (request: Request) => string;

export function createApp({ registry, options, log, routes, auth, tls = false, http = { headers: {}, cors: { origins: [] } }, operator, ui, ops }: AppDeps) {
  const v2 = createV2Handler(registry, options, log);
  const cors = createCors(http.cors);
  const addConfiguredHeaders = configuredHeaders(http.headers, { cors: cors !== null });

  /** The headers every answer carries; configured ones replace Berth's security headers. */
  const finish = (request: Request | null, response: Response) => {
    setSecurityHeaders(response.headers, { tls });
    addConfiguredHeaders(response.headers);
    if (request) cors?.decorate(request, response.headers);
    // Bun adds Date itself, except to HEAD answers
    if (!response.headers.has("date")) response.headers.set("Date", httpDate());
    return response;
  };

  /**
   * Request id, client address, headers and the access log line, for every route. When the
   * log level filters the access line out, nothing is timed, counted or built for it.
   */
  const observed = (handler: Handler, kind: HandlerName | "v2" = "other") => async (request: Request, url: URL | null, addressOf: AddressOf) => {
    const logged = logs(log, "info");
    // counted in slots made once (http-metrics.ts): a request allocates nothing for its metrics
    const slot = ops?.http.slot(kind, url?.pathname ?? "").begin();
    const started = logged || slot ? performance.now() : 0;
    const info = requestInfo(request, addressOf, operator?.actor ?? "", logged);
    let response: Response;
    try {
      response = await handler(request, info, url);
    } catch (error) {
      log("error", "request failed", { id: info.id, method: request.method, path: pathOf(request, url), error: errorText(error) });
      response = errorResponse(internalError(), request.method);
    }
    response.headers.set("X-Request-Id", info.id);
    finish(request, response);
    if (ops && url && mayAudit(request.method, response.status)) auditRequest(ops.audit, ops.security, request, url, info, response);
    const elapsed = slot || logged ? performance.now() - started : 0;
    slot?.end(request.method, response.status, elapsed / 1000, request.method === "GET" || request.method === "HEAD" ? 0 : Number(request.headers.get("content-length")) || 0);
    if (!logged) return slot ? reportBodySize(response, request.method, (bytes) => slot.sent(bytes)) : response;
    const ms = Math.round(elapsed * 10) / 10;
    const path = pathOf(request, url);
    return reportBodySize(response, request.method, (bytes) => {
      slot?.sent(bytes);
      log("info", "request", { id: info.id, method: request.method, path, status: response.status, bytes, ms, addr: info.addr, actor: info.actor });
    });
  };
  // without an access layer the URL parsed for dispatch is handed on, not parsed again
  const handleV2 = observed(auth ? auth.guardV2(v2) : (request, info, url) => v2(request, info, undefined, url ?? undefined), "v2");
  const handleHealth = observed(async () => {
    const health = await registry.health();
    return Response.json(health, { status: health.status === "ok" ? 200 : 503 });
  }, "healthz");
  // /metrics here: a bearer [metrics] token, or an admin once [auth] is on (page.ts)
  const metricsPage = ops?.page;
  const adminMetrics = metricsPage && auth ? auth.guardAdmin((request) => metricsPage(request)) : null;
  const handleMetrics = metricsPage && observed(async (request, info) => {
    if (bearsToken(request, ops.token)) return metricsPage(request);
    return adminMetrics ? adminMetrics(request, info) : metricsOff(request);
  }, "metrics");
  // core /api/v1 routes declare what each request needs (pull rights, or admin); plugin routes are admin-only
  const apiV1 = createApiV1Handler(registry, options, log);
  const handleApiV1 = observed(auth ? auth.guard(apiV1Need, apiV1) : (request, info) => apiV1(request, info), "api");
  const api = async (request: Request, info: RequestInfo) => routes.handle(request, info.actor);
  // admin-only, but a namespace's own accounts routes are open to its admin members too
  const handleApi = observed(auth ? auth.guard(accountsNeed, api) : api, "api");
  const handleUi = ui && observed(async (request, _info, url) => ui.handle(request, url ?? new URL(request.url)), "ui");
  // what the plugins here serve, so the UI asks only for what exists
  const features = () => ({
    retention: routes.has("GET", "/api/v1/retention/preview"),
    quotas: routes.has("GET", "/api/v1/quotas"),
    signing: routes.has("GET", "/api/v1/signatures"),
    webhooks: routes.has("GET", "/api/webhooks/deliveries"),
    proxy: routes.has("GET", "/api/v1/proxy"),
    replication: routes.has("GET", "/api/v1/replication"),
  });
  // with authentication off the registry is open: everyone may do everything
  const handleMe = observed(async (request, info) => {
    const caller = auth ? await auth.me(request, info) : openCaller(new URL(request.url).searchParams.get("repository"));
    if (caller instanceof Response) return caller;
    // the address users pull from: http.public_url when set, else the one this request came to
    const registry = options.publicUrl === "" ? new URL(request.url).host : new URL(options.publicUrl).host;
    return Response.json({ ...caller, features: features(), registry });
  });
  const handleToken = observed(async (request, info) =>
    auth ? auth.token(request, info) : errorResponse(new RegistryError("NOT_FOUND", { message: "Authentication is off" }), request.method),
  "auth");

  const fallback = new Elysia()
    .onError(({ code, request }) => {
      if (code === "NOT_FOUND") {
        const error = new RegistryError("NOT_FOUND", { message: `No endpoint at ${new URL(request.url).pathname.slice(0, 200)}` });
        return errorResponse(error, request.method);
      }
      log("error", "unhandled", { code: String(code) });
      return errorResponse(internalError(), request.method);
    });
  const handleFallback = observed(async (request) => fallback.handle(request));
  const handleBadTarget = observed(async (request) => {
    const error = new HttpError("UNKNOWN", { status: 400, message: "Bad request: the request target and Host header do not form a URL" });
    return errorResponse(error, request.method);
  });
  const handlePreflight = cors && observed(async (request) => cors.preflight(request));
  const handleNotForOperator = observed(async (request) => {
    const error = new RegistryError("NOT_FOUND", { message: "The admin socket serves /api/ and /healthz only; the registry API is on http.addr" });
    return errorResponse(error, request.method);
  });

  return {
    /** Bun.serve's fetch handler; without a server (in-process tests) the client address is "". */
    fetch(request: Request, server?: Server<undefined>): Promise<Response> | Response {
      try {
        return route(request, server ? (r) => server.requestIP(r)?.address ?? "" : () => "");
      } catch (error) {
        log("error", "request failed", { method: request.method, error: errorText(error) });
        return finish(request, errorResponse(internalError(), request.method));
      }
    },
    /** Bun.serve's error handler: the last resort, in place of Bun's own error page. */
    error(error: Error): Response {
      log("error", "unhandled error", { error: errorText(error) });
      return finish(null, errorResponse(internalError(), "GET"));
    },
  };

  function route(request: Request, addressOf: AddressOf): Promise<Response> {
    const url = requestUrl(request);
    if (url === null) return handleBadTarget(request, url, addressOf);
    const path = url.pathname;
    if (operator && !path.startsWith("/api/") && path !== "/healthz") return handleNotForOperator(request, url, addressOf);
    if (handlePreflight && cors?.isPreflight(request, path)) return handlePreflight(request, url, addressOf);
    if (path === "/v2" || path.startsWith("/v2/")) return handleV2(request, url, addressOf);
    if (path === "/api/v1/me" && (request.method === "GET" || request.method === "HEAD")) return handleMe(request, url, addressOf);
    if (isApiV1Path(path) && !routes.has(request.method, path)) return handleApiV1(request, url, addressOf);
    if (path.startsWith("/api/")) return handleApi(request, url, addressOf);
    if (path === "/auth/token" || path === "/auth/oidc") return handleToken(request, url, addressOf);
    if (path === "/healthz" && (request.method === "GET" || request.method === "HEAD")) return handleHealth(request, url, addressOf);
    if (path === "/metrics" && handleMetrics) return handleMetrics(request, url, addressOf);
    if (handleUi && ui?.handles(path)) return handleUi(request, url, addressOf);
    return handleFallback(request, url, addressOf);
  }
}

/** GET /api/v1/me when authentication is off. */
function openCaller(repository: string | null): Record<string, unknown> {
  const rights = repository === null || repository === "" ? {} : { repository: { name: repository, pull: true, push: true, delete: true } };
  return { user: "", auth: "off", admin: true, catalog: true, ...rights };
}

/** The request's URL, or null when Bun could not make one (a bad Host, an authority-form target). */
function requestUrl(request: Request): URL | null {
  try {
    // a load balancer's bare health check (HTTP/1.0, no Host: Bun hands over the path alone) is
    // answered; any other request without a Host stays a bad request
    const url = request.url === "/healthz" && !request.headers.has("host") ? new URL(request.url, "http://localhost") : new URL(request.url);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

function errorText(error: unknown): string {
  return String(error instanceof Error ? (error.stack ?? error) : error);
}

function pathOf(request: Request, url: URL | null): string {
  return url?.pathname ?? request.url.slice(0, 200);
}

/**
 * Who asked. The client address is asked of the socket (a tenth of a cached pull's time) only
 * when something reads it (the access layer, a hook, an event), or at once when the access
 * line will need it (it must not depend on the connection still being open then).
 */
function requestInfo(request: Request, addressOf: AddressOf, actor: string, addressNow: boolean): RequestInfo {
  const headers = request.headers;
  let addr: string | undefined = addressNow ? addressOf(request) : undefined;
  return {
    id: headers.get("x-request-id")?.slice(0, 128) ?? crypto.randomUUID(),
    get addr() {
      addr ??= addressOf(request);
      return addr;
    },
    // bounded: these travel into every event and the webhook queue
    host: (headers.get("host") ?? "").slice(0, 256),
    method: request.method,
    useragent: (headers.get("user-agent") ?? "").slice(0, 256),
    actor,
  };
}

let dateSecond = -1;
let dateText = "";

/** The Date header's value, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

export type App = ReturnType<typeof createApp>;
