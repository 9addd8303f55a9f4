import { describe, expect, test } from "bun:test";
import { PluginRoutes } from "../../src/plugins-host/routes.ts";

function echo(label: string) {
  return (_request: Request, params: { url: URL; path: Record<string, string> }) => Response.json({ label, path: params.path });
}

async function call(routes: PluginRoutes, method: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await routes.handle(new Request(`http://berth${path}`, { method }));
  return { status: response.status, body: await response.json() };
}

describe("plugin routes", () => {
  const routes = new PluginRoutes();
  routes.add("POST", "/api/v1/repositories/{name}/tags/{tag}/restore", echo("restore"));
  routes.add("GET", "/api/v1/repositories/{name}/manifests/{digest}/signatures", echo("signatures"));
  routes.add("GET", "/api/v1/retention/preview", echo("preview"));
  routes.add("GET", "/api/things/*", echo("things"));

  test("a template gives a multi-segment repository name and one-segment parameters", async () => {
    expect(await call(routes, "POST", "/api/v1/repositories/team/app/tags/v1.2/restore")).toEqual({
      status: 200,
      body: { label: "restore", path: { name: "team/app", tag: "v1.2" } },
    });
    const digest = `sha256:${"a".repeat(64)}`;
    expect((await call(routes, "GET", `/api/v1/repositories/a/manifests/${digest}/signatures`)).body).toEqual({ label: "signatures", path: { name: "a", digest } });
  });

  test("exact and prefix routes still match; others are 404 NOT_FOUND", async () => {
    expect((await call(routes, "GET", "/api/v1/retention/preview")).body).toEqual({ label: "preview", path: {} });
    expect((await call(routes, "GET", "/api/things/x/y")).body).toEqual({ label: "things", path: {} });
    const missing = await call(routes, "GET", "/api/v1/repositories/team/app/tags/v1/restore");
    expect(missing.status).toBe(404);
    expect(routes.has("POST", "/api/v1/repositories/team/app/tags/v1/restore")).toBe(true);
    expect(routes.has("POST", "/api/v1/repositories/team/app/tags")).toBe(false);
    expect(routes.has("HEAD", "/api/v1/retention/preview")).toBe(true);
  });

  test("a template does not match a path with an empty or extra segment", async () => {
    expect(routes.has("POST", "/api/v1/repositories//tags/v1/restore")).toBe(false);
    expect(routes.has("POST", "/api/v1/repositories/a/tags/v1/x/restore")).toBe(false);
  });
});
