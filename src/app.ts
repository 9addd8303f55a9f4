/**
 * createApp wires the HTTP surface: /v2/ (the registry API), /healthz, and one log line per
 * request. It does not listen; main.ts (or a test) does.
 */
import { Elysia } from "elysia";
import type { ApiOptions } from "./api/context.ts";
import { errorResponse, RegistryError } from "./api/errors.ts";
import { createV2Handler } from "./api/v2.ts";
import type { Logger } from "./log.ts";
import type { Registry } from "./registry/registry.ts";

export interface AppDeps {
  registry: Registry;
  options: ApiOptions;
  log: Logger;
}

export function createApp({ registry, options, log }: AppDeps) {
  const v2 = createV2Handler(registry, options, log);
  const logged = (handler: (request: Request) => Promise<Response>) => async (request: Request) => {
    const started = performance.now();
    const id = request.headers.get("x-request-id") ?? crypto.randomUUID();
    const response = await handler(request);
    response.headers.set("X-Request-Id", id);
    response.headers.set("X-Content-Type-Options", "nosniff");
    log("info", "request", {
      id,
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      bytes: Number(response.headers.get("content-length") ?? 0),
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
    return response;
  };
  const handleV2 = logged(v2);
  const handleHealth = logged(async () => {
    const ok = await registry.healthy();
    return Response.json({ status: ok ? "ok" : "storage not writable", storage: ok }, { status: ok ? 200 : 503 });
  });
  return new Elysia()
    .onError(({ code, request }) => {
      if (code === "NOT_FOUND") {
        const error = new RegistryError("NOT_FOUND", { message: `No endpoint at ${new URL(request.url).pathname.slice(0, 200)}` });
        return errorResponse(error, request.method);
      }
      log("error", "unhandled", { code: String(code) });
      return errorResponse(new RegistryError("UNKNOWN", { message: "Internal error; the server log has the details" }), request.method);
    })
    .all("/v2", ({ request }) => handleV2(request), { parse: "none" })
    .all("/v2/*", ({ request }) => handleV2(request), { parse: "none" })
    .get("/healthz", ({ request }) => handleHealth(request));
}

export type App = ReturnType<typeof createApp>;
