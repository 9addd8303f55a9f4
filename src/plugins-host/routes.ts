/** HTTP routes that plugins add under /api/ (e.g. the webhook deliveries API). */
import { errorResponse } from "../api/errors.ts";
import type { RouteHandler } from "../hooks/types.ts";
import { RegistryError } from "../oci/errors.ts";

export class PluginRoutes {
  private readonly routes = new Map<string, RouteHandler>();

  add(method: string, path: string, handler: RouteHandler): void {
    if (!path.startsWith("/api/")) throw new Error(`Plugin routes live under /api/; got "${path}"`);
    const key = `${method} ${path}`;
    if (this.routes.has(key)) throw new Error(`Route ${key} is already taken`);
    this.routes.set(key, handler);
  }

  /** Exact paths, or a trailing "/*" that matches any rest of the path. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method === "HEAD" ? "GET" : request.method;
    const handler = this.routes.get(`${method} ${url.pathname}`) ?? this.prefixMatch(method, url.pathname);
    if (!handler) {
      return errorResponse(new RegistryError("NOT_FOUND", { message: `No endpoint at ${url.pathname.slice(0, 200)}` }), request.method);
    }
    try {
      return await handler(request, { url });
    } catch (error) {
      if (error instanceof RegistryError) return errorResponse(error, request.method);
      return errorResponse(new RegistryError("UNKNOWN", { message: `Plugin route failed: ${(error as Error).message}` }), request.method);
    }
  }

  private prefixMatch(method: string, pathname: string): RouteHandler | undefined {
    for (const [key, handler] of this.routes) {
      if (!key.endsWith("/*")) continue;
      const [routeMethod, routePath = ""] = key.split(" ");
      if (routeMethod === method && pathname.startsWith(routePath.slice(0, -1))) return handler;
    }
    return undefined;
  }
}
