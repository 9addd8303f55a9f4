/**
 * Listing over a big registry: the first catalog page (n=100) with many repositories, and the
 * tag list of a repository with many tags. Set-up goes through the API with bounded
 * concurrency (repositories by cross-repo mount, tags by re-putting one tiny manifest) and is
 * itself reported as a row.
 */
import { runPhase } from "../measure.ts";
import type { RegistryClient } from "../oci.ts";
import { OCI_CONFIG, describe, imageConfig, imageManifest, OCI_LAYER } from "../oci.ts";
import type { RunningServer } from "../servers.ts";
import type { GroupContext, RowInfo, WorkloadGroup } from "./common.ts";
import { fetchOutcome, REQUEST_METRICS, padded, pool, timedOps, withServer } from "./common.ts";
import { uiRenderRow } from "./ui-render.ts";

/** Pushes a tiny image to `repo:tag`; returns what other repos/tags need to reuse it. */
async function seedImage(ctx: GroupContext, client: RegistryClient, repo: string, tag: string) {
  const layerFile = ctx.data.blob(1024, 0);
  const layer = { mediaType: OCI_LAYER, digest: layerFile.digest, size: layerFile.size };
  const config = imageConfig([layer], "listing");
  const configDesc = describe(config, OCI_CONFIG);
  await client.pushMonolithic(repo, Bun.file(layerFile.path), layer.digest);
  await client.pushMonolithic(repo, config, configDesc.digest);
  const manifest = imageManifest(configDesc, [layer]);
  await client.putManifest(repo, tag, manifest);
  return { layerFile, config, configDesc, manifest };
}

/** Runs set-up work through a bounded pool and records it as a row (ops/s of set-up calls). */
async function timedSetup(
  ctx: GroupContext,
  server: RunningServer,
  row: RowInfo,
  count: number,
  fn: (i: number) => Promise<void>,
): Promise<number> {
  let created = 0;
  const measurement = await runPhase(server.pid, async () => {
    const latenciesMs: number[] = [];
    const result = await pool(count, ctx.config.setupConcurrency, 1800, async (i) => {
      const t0 = performance.now();
      await fn(i);
      latenciesMs.push(performance.now() - t0);
    });
    created = result.done;
    const short = result.done < count ? `only ${result.done} of ${count} done` : undefined;
    return {
      ops: result.done,
      bytes: 0,
      latenciesMs,
      errors: result.errors,
      tool: "bun-fetch",
      clientCoreCap: 1,
      note: [`concurrency ${ctx.config.setupConcurrency}`, short, result.firstError].filter(Boolean).join("; "),
    };
  });
  ctx.record(row, measurement);
  return created;
}

/** Sequential GETs of `path` (bounded by count and time), after one checked request. */
async function timedList(
  ctx: GroupContext,
  server: RunningServer,
  client: RegistryClient,
  row: RowInfo,
  path: string,
  check: (body: unknown) => string | undefined,
): Promise<void> {
  const first = await fetch(`${server.url}${path}`);
  const problem = first.ok ? check(await first.json()) : `HTTP ${first.status}`;
  const measurement = await runPhase(server.pid, async () => {
    const result = await timedOps(ctx.config.listMaxRequests, ctx.config.listDurationSec, async () => {
      const { status, bytes } = await client.getDrain(path);
      if (status !== 200) throw new Error(`GET ${path}: HTTP ${status}`);
      return bytes;
    });
    return fetchOutcome(result, problem);
  });
  ctx.record(row, measurement);
}

function listLength(body: unknown, key: "repositories" | "tags"): number {
  if (typeof body !== "object" || body === null) return -1;
  const list = (body as Record<string, unknown>)[key];
  return Array.isArray(list) ? list.length : -1;
}

export const catalog: WorkloadGroup = {
  name: "catalog",
  title: "Catalog",
  async run(ctx) {
    const count = ctx.config.catalogRepos;
    await withServer(ctx, async (server, client) => {
      const seed = await seedImage(ctx, client, "bench/src", "v1");
      const setupRow: RowInfo = {
        id: "setup-repos",
        label: `create ${count} repositories (set-up)`,
        op: "mount layer + mount config (or upload them) + PUT manifest in a new repository",
        metrics: ["opsPerSec", "p50Ms", "p99Ms", "serverCpuSec", "serverPeakRssMb"],
      };
      const created = await timedSetup(ctx, server, setupRow, count, async (i) => {
        const repo = `bench/${padded("r", i)}`;
        if (!(await client.mount(repo, "bench/src", seed.layerFile.digest))) {
          await client.pushMonolithic(repo, Bun.file(seed.layerFile.path), seed.layerFile.digest);
        }
        if (!(await client.mount(repo, "bench/src", seed.configDesc.digest))) {
          await client.pushMonolithic(repo, seed.config, seed.configDesc.digest);
        }
        await client.putManifest(repo, "v1", seed.manifest);
      });
      const expected = Math.min(100, created + 1);
      const row: RowInfo = {
        id: "catalog",
        label: `catalog first page (n=100), ${count} repos`,
        op: "GET /v2/_catalog?n=100, one at a time",
        metrics: REQUEST_METRICS,
      };
      await timedList(ctx, server, client, row, "/v2/_catalog?n=100", (body) => {
        const n = listLength(body, "repositories");
        return n === expected ? undefined : `first page had ${n} repositories, expected ${expected}`;
      });
      if (ctx.target === "berth") await uiRenderRow(ctx, server, created + 1);
    });
  },
};

export const tags: WorkloadGroup = {
  name: "tags",
  title: "Tag list",
  async run(ctx) {
    const count = ctx.config.tagCount;
    const repo = "bench/tags";
    await withServer(ctx, async (server, client) => {
      const seed = await seedImage(ctx, client, repo, padded("t", 0));
      const setupRow: RowInfo = {
        id: "setup-tags",
        label: `create ${count} tags (set-up)`,
        op: "PUT /v2/<name>/manifests/<new tag> of an existing manifest",
        metrics: ["opsPerSec", "p50Ms", "p99Ms", "serverCpuSec", "serverPeakRssMb"],
      };
      const created = await timedSetup(ctx, server, setupRow, count - 1, (i) =>
        client.putManifest(repo, padded("t", i + 1), seed.manifest),
      );
      const row: RowInfo = {
        id: "tags",
        label: `tag list, ${count} tags`,
        op: "GET /v2/<name>/tags/list (whole list), one at a time",
        metrics: ["opsPerSec", "mbPerSec", "p50Ms", "p99Ms", "serverCpuSec", "serverPeakRssMb", "clientCpuSec"],
      };
      await timedList(ctx, server, client, row, `/v2/${repo}/tags/list`, (body) => {
        const n = listLength(body, "tags");
        return n === created + 1 ? undefined : `list had ${n} tags, expected ${created + 1}`;
      });
    });
  },
};
