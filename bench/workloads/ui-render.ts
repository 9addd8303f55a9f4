/**
 * The web UI's first render of the repository list on the catalog group's big registry, in
 * Debian's Chromium (playwright-core): from navigation start to the first table row on screen,
 * a fresh browser context (no cache) each time. Berth only: Distribution has no UI.
 */
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { runPhase } from "../measure.ts";
import type { RunningServer } from "../servers.ts";
import type { GroupContext } from "./common.ts";

const CHROMIUM = process.env.BERTH_CHROMIUM ?? "/usr/bin/chromium";
const LOADS = 5;

export async function uiRenderRow(ctx: GroupContext, server: RunningServer, repositories: number): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    ctx.log(`skipping the UI render row: no ${CHROMIUM}`);
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const measurement = await runPhase(server.pid, async () => {
      const latenciesMs: number[] = [];
      let errors = 0;
      for (let i = 0; i < LOADS; i++) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        try {
          const page = await context.newPage();
          await page.goto(`${server.url}/`);
          await page.waitForSelector("#results tbody tr", { timeout: 30_000 });
          latenciesMs.push(await page.evaluate(() => performance.now()));
        } catch {
          errors++;
        } finally {
          await context.close();
        }
      }
      return { ops: latenciesMs.length, bytes: 0, latenciesMs, errors, tool: "bun-fetch", clientCoreCap: 2, note: `Chromium, navigation start → first row; ${repositories} repositories` };
    });
    ctx.record(
      {
        id: "ui-first-render",
        label: `web UI first render, ${repositories} repos`,
        op: "open / in a fresh Chromium context until the repository table's first row is on screen",
        metrics: ["p50Ms", "p99Ms", "serverCpuSec"],
      },
      measurement,
    );
  } finally {
    await browser.close();
  }
}
