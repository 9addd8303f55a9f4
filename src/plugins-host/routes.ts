/**
 * HTTP routes that plugins (and the core's admin API) add under /api/: exact paths, a trailing
 * "/*" that matches any rest of the path, or templates with placeholders: `{name}` is a
 * repository name (one or more segments, as in /v2/), any other `{param}` one segment. A
 * template may sit below /api/v1/repositories/, beside the core's read routes
 * (`/api/v1/repositories/{name}/tags/{tag}/restore`); there it is matched first.
 */
import { errorResponse } from "../api/errors.ts";
import type { RouteHandler } from "../hooks/types.ts";
import { RegistryError } from "../oci/errors.ts";

interface TemplateRoute {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

interface Match {
  handler: RouteHandler;
  path: Record<string, string>;
}

export class PluginRoutes {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly templates: TemplateRoute[] = [];

  add(method: string, path: string, handler: RouteHandler): void {
    if (!path.startsWith("/api/")) throw new Error(`Plugin routes live under /api/; got "${path}"`);
    const key = `${method} ${path}`;
    if (this.routes.has(key)) throw new Error(`Route ${key} is already taken`);
    this.routes.set(key, handler);
    if (path.includes("{")) this.templates.push({ method, handler, ...compileTemplate(path) });
  }

  /** Is there a route for this request (used to let a template below /api/v1/repositories/ win)? */
  has(method: string, pathname: string): boolean {
    return this.match(method === "HEAD" ? "GET" : method, pathname) !== null;
  }

  /** `actor`: the caller's name as the access layer set it (RequestInfo.actor). */
  async handle(request: Request, actor = ""): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method === "HEAD" ? "GET" : request.method;
    const found = this.match(method, url.pathname);
    if (!found) {
      return errorResponse(new RegistryError("NOT_FOUND", { message: `No endpoint at ${url.pathname.slice(0, 200)}` }), request.method);
    }
    try {
      return await found.handler(request, { url, path: found.path, actor });
    } catch (error) {
      if (error instanceof RegistryError) return errorResponse(error, request.method);
      return errorResponse(new RegistryError("UNKNOWN", { message: `Plugin route failed: ${(error as Error).message}` }), request.method);
    }
  }

  private match(method: string, pathname: string): Match | null {
    const exact = this.routes.get(`${method} ${pathname}`);
    if (exact && !pathname.includes("{")) return { handler: exact, path: {} };
    for (const template of this.templates) {
      if (template.method !== method) continue;
      const found = template.pattern.exec(pathname);
      if (!found) continue;
      const path: Record<string, string> = {};
      template.names.forEach((name, i) => {
        path[name] = found[i + 1] ?? "";
      });
      return { handler: template.handler, path };
    }
    for (const [key, handler] of this.routes) {
      if (!key.endsWith("/*")) continue;
      const [routeMethod, routePath = ""] = key.split(" ");
      if (routeMethod === method && pathname.startsWith(routePath.slice(0, -1))) return { handler, path: {} };
    }
    return null;
  }
}

function compileTemplate(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split(/(\{[a-z_]+\})/)
    .map((part) => {
      const placeholder = /^\{([a-z_]+)\}$/.exec(part);
      if (!placeholder) return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
      const name = placeholder[1] as string;
      names.push(name);
      return name === "name" ? "(.+)" : "([^/]+)";
    })
    .join("");
  return { pattern: new RegExp(`^${source}$`), names };
}
