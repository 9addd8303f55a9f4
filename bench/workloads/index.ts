/**
 * The metadata index's maintenance work on big trees, each written directly in Distribution's
 * layout (bench/layout.ts) and synced before anything is timed:
 *
 * - GC of a tree of 10,000 blobs of which 1,000 no manifest references: `berth gc` (offline,
 *   gc.delay 0s, after an untimed `berth index rebuild`) against Distribution's offline mark and
 *   sweep, `docker-registry garbage-collect`. Both must leave exactly the live blobs.
 * - `berth index rebuild` of a tree of 10,000 repositories. Distribution has no index; its
 *   nearest work, walking the whole catalog page by page, is shown beside it without a ratio.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchConfig } from "../config.ts";
import { exec } from "../exec.ts";
import { writeGcTree, writeRepositoriesTree, TreeWriter } from "../layout.ts";
import { runPhase, toMeasurement } from "../measure.ts";
import { berthProgram, distributionConfig, inheritedEnv } from "../servers.ts";
import type { Measurement, MetricKey } from "../types.ts";
import type { GroupContext, RowInfo, WorkloadGroup } from "./common.ts";
import { withServer } from "./common.ts";

const COMMAND_TIMEOUT_MS = 1_800_000;
const CATALOG_PAGE = 1000; // Distribution's default catalog.maxentries
const METRICS: MetricKey[] = ["wallSec", "serverCpuSec", "serverPeakRssMb"];

/** A fresh directory with an empty storage root; removed by the caller (unless --keep). */
function freshRoot(config: BenchConfig, what: string): { dir: string; root: string } {
  mkdirSync(config.workDir, { recursive: true });
  const dir = mkdtempSync(join(config.workDir, `berth-bench-${what}-`));
  const root = join(dir, "data");
  mkdirSync(root);
  return { dir, root };
}

function berthEnv(config: BenchConfig, root: string): Record<string, string> {
  return { ...inheritedEnv(), BERTH_STORAGE_ROOT: root, BERTH_GC_DELAY: "0s", ...config.berthEnv };
}

/** Runs one offline command in exactly `env`; its own CPU and peak RSS are the "server" columns. */
async function timedCommand(argv: string[], env: Record<string, string>, check: (stdout: string) => string | undefined): Promise<Measurement> {
  const result = await exec(argv, { timeoutMs: COMMAND_TIMEOUT_MS, env, inheritEnv: false });
  const problem = result.code === 0 ? check(result.stdout) : `exit ${result.code}: ${result.stderr.slice(-500)}`;
  if (problem !== undefined) throw new Error(`${argv.join(" ")}: ${problem}`);
  const outcome = { ops: 1, bytes: 0, latenciesMs: [result.wallMs], errors: 0, tool: "cli" as const, clientCoreCap: 1, note: "offline command, wall time from exec to exit" };
  return toMeasurement(outcome, result.wallMs / 1000, result.cpuSec, result.maxRssBytes, 0);
}

async function gcRow(ctx: GroupContext): Promise<void> {
  const { blobs, unreferenced } = ctx.config.gc;
  const { dir, root } = freshRoot(ctx.config, "gc");
  try {
    ctx.log(`  writing a tree of ${blobs} blobs (${unreferenced} unreferenced)`);
    const tree = writeGcTree(root, blobs, unreferenced);
    const expectLeft = (): string | undefined => {
      const left = new TreeWriter(root).countBlobs();
      return left === tree.live ? undefined : `${left} blobs left, expected the ${tree.live} live ones`;
    };
    let measurement: Measurement;
    if (ctx.target === "distribution") {
      const configPath = join(dir, "config.yml");
      writeFileSync(configPath, distributionConfig(root, "127.0.0.1:0"));
      measurement = await timedCommand([ctx.config.distributionBin, "garbage-collect", configPath], inheritedEnv(), expectLeft);
    } else {
      const berth = berthProgram(ctx.target, ctx.config);
      const env = berthEnv(ctx.config, root);
      await timedCommand([...berth, "index", "rebuild"], env, () => undefined); // set-up, untimed
      measurement = await timedCommand([...berth, "gc"], env, (stdout) =>
        stdout.includes(`deleted ${tree.unreferenced} blobs`) ? expectLeft() : `did not report ${tree.unreferenced} blobs deleted: ${stdout.slice(-300)}`,
      );
    }
    const live = blobs - unreferenced;
    const row: RowInfo = {
      id: `gc-${blobs}`,
      label: `GC of ${blobs} blobs, ${live} live (offline)`,
      op: `one offline GC run over ${tree.repositories} repositories (${tree.live} live blobs: images of manifest, config and seven 1 KiB layers; ${tree.unreferenced} unreferenced 1 KiB layers): berth gc with gc.delay 0s after an untimed berth index rebuild; docker-registry garbage-collect`,
      metrics: METRICS,
    };
    ctx.record(row, measurement);
  } finally {
    if (!ctx.config.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Distribution's whole catalog, page by page (Link: rel="next"); returns how many names. */
async function walkCatalog(base: string): Promise<number> {
  let next: string | null = `/v2/_catalog?n=${CATALOG_PAGE}`;
  let names = 0;
  for (let page = 0; next !== null && page < 100_000; page++) {
    const res: Response = await fetch(new URL(next, base));
    if (res.status !== 200) throw new Error(`GET ${next}: HTTP ${res.status}`);
    const body: unknown = await res.json();
    const list = typeof body === "object" && body !== null && "repositories" in body ? body.repositories : undefined;
    names += Array.isArray(list) ? list.length : 0;
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
  }
  return names;
}

async function rebuildRow(ctx: GroupContext): Promise<void> {
  const count = ctx.config.rebuildRepos;
  const row: RowInfo = {
    id: `index-rebuild-${count}`,
    label: `index rebuild, ${count} repositories`,
    op: `Berth: berth index rebuild (offline, first build) of ${count} repositories of one tagged image each; Distribution has no index: its whole catalog walked (GET /v2/_catalog?n=${CATALOG_PAGE}, following Link) is shown as the nearest work, without a ratio`,
    metrics: METRICS,
    comparable: false,
  };
  if (ctx.target === "distribution") {
    await withServer(ctx, async (server) => {
      ctx.log(`  writing ${count} repositories`);
      writeRepositoriesTree(server.root, count);
      let names = 0;
      const measurement = await runPhase(server.pid, async () => {
        const t0 = performance.now();
        names = await walkCatalog(server.url);
        const note = `not a rebuild: the whole catalog walked, ${names} names`;
        return { ops: 1, bytes: 0, latenciesMs: [performance.now() - t0], errors: names === count ? 0 : 1, tool: "bun-fetch", clientCoreCap: 1, note };
      });
      ctx.record(row, measurement);
    });
    return;
  }
  const { dir, root } = freshRoot(ctx.config, "rebuild");
  try {
    ctx.log(`  writing ${count} repositories`);
    writeRepositoriesTree(root, count);
    const argv = [...berthProgram(ctx.target, ctx.config), "index", "rebuild"];
    const measurement = await timedCommand(argv, berthEnv(ctx.config, root), (stdout) =>
      stdout.includes(` ${count} repositories`) ? undefined : `did not report ${count} repositories: ${stdout.slice(-300)}`,
    );
    ctx.record(row, measurement);
  } finally {
    if (!ctx.config.keep) rmSync(dir, { recursive: true, force: true });
  }
}

export const indexGroup: WorkloadGroup = {
  name: "index",
  title: "Metadata index: GC and rebuild",
  async run(ctx) {
    await gcRow(ctx);
    await rebuildRow(ctx);
  },
};
