/**
 * Driving Debian's Chromium with playwright-core against the compiled binary: a page that
 * records console errors and failed requests, an accessibility check with axe-core, and
 * screenshots (to $BERTH_SCREENSHOTS when set: scripts/screenshots.sh; else a temp dir).
 */
import { expect } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { repoRoot } from "../helpers/server.ts";

export const CHROMIUM = process.env.BERTH_CHROMIUM ?? "/usr/bin/chromium";

export async function launch(): Promise<Browser> {
  // root in a container: Chromium's sandbox needs user namespaces it may not have
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** console errors and failed or 5xx requests since the last take() */
  take(): string[];
}

export async function watchedPage(browser: Browser, options: { width?: number; credentials?: { user: string; password: string } } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  let problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ""}`));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return {
    page,
    context,
    take() {
      const taken = problems;
      problems = [];
      return taken;
    },
  };
}

const AXE = readFileSync(join(repoRoot, "node_modules/axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page as it is (injected through the DevTools protocol, not the page's CSP). */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))}`);
  });
  return violations;
}

export function expectClean(watched: WatchedPage, where: string): void {
  expect(watched.take(), `console errors or failed requests on ${where}`).toEqual([]);
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}
