/**
 * How the compiled binary serves the web UI: the page and its hashed assets with their cache
 * and security headers, mounted at [ui] path, or not at all with [ui] enabled = false, from an
 * empty working directory (the files are in the binary).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BerthProcess, startBerth } from "../helpers/server.ts";

async function assets(base: string, pagePath: string): Promise<{ page: Response; html: string; urls: string[] }> {
  const page = await fetch(`${base}${pagePath}`);
  const html = await page.text();
  const urls = [...html.matchAll(/(?:src|href)="(\/[^"]*assets\/[^"]+)"/g)].map((m) => m[1] ?? "");
  return { page, html, urls };
}

describe("[ui] path = /ui", () => {
  let berth: BerthProcess;
  beforeAll(async () => {
    berth = await startBerth({ env: { BERTH_UI_PATH: "/ui" } });
  });
  afterAll(async () => {
    await berth?.stop();
  });

  test("the page at /ui/, hashed assets cached for a year, a strict CSP; / is not the UI", async () => {
    const { page, html, urls } = await assets(berth.url, "/ui/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).not.toContain("unsafe-inline");
    expect(html).not.toContain("<script>"); // no inline script
    expect(urls.length).toBe(2);
    for (const url of urls) {
      expect(url).toMatch(/^\/ui\/assets\/app\.[0-9a-f]{12}\.(js|css)$/);
      const asset = await fetch(`${berth.url}${url}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect((await asset.text()).length).toBeGreaterThan(100);
    }
    const redirect = await fetch(`${berth.url}/ui`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/ui/");
    expect((await fetch(`${berth.url}/`)).status).toBe(404);
    expect((await fetch(`${berth.url}/ui/assets/app.000000000000.js`)).status).toBe(404);
    expect((await fetch(`${berth.url}/ui/`, { method: "POST" })).status).toBe(405);
  });
});

test("[ui] enabled = false serves no UI", async () => {
  const berth = await startBerth({ env: { BERTH_UI_ENABLED: "false" } });
  try {
    const page = await fetch(`${berth.url}/`);
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toStartWith("application/json");
  } finally {
    await berth.stop();
  }
});
