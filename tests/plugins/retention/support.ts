/** Shared by the retention plugin's tests: a server with a registry.toml, images, and the API. */
import { expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { imageOf, pushBuiltImage, randomLayer, uniqueConfig, type BuiltImage } from "../../helpers/gc.ts";
import { call, expectStatus, isRecord } from "../../helpers/oci.ts";
import { type BerthProcess, startBerth, tempDir, removeDir } from "../../helpers/server.ts";

export interface ConfiguredBerth {
  berth: BerthProcess;
  configDir: string;
  stop(): Promise<void>;
}

/** Starts the compiled binary with `toml` as its registry.toml (address and root from the environment). */
export async function startWithConfig(toml: string, env: Record<string, string> = {}): Promise<ConfiguredBerth> {
  const configDir = tempDir("berth-retention-config-");
  const file = join(configDir, "registry.toml");
  writeFileSync(file, toml);
  const berth = await startBerth({ args: ["serve", "--config", file], env });
  return {
    berth,
    configDir,
    async stop() {
      await berth.stop();
      removeDir(configDir);
    },
  };
}

/** Pushes a fresh one-layer image under `tag` and returns it. */
export async function pushImage(base: string, repo: string, tag: string, layerBytes = 2048): Promise<BuiltImage> {
  const image = imageOf(uniqueConfig(), [randomLayer(layerBytes)]);
  await pushBuiltImage(base, repo, tag, image);
  return image;
}

export async function json(base: string, path: string, method = "GET"): Promise<Record<string, unknown>> {
  const res = await call(base, path, { method, timeoutMs: 60_000 });
  expectStatus(res, 200);
  const value: unknown = JSON.parse(res.text);
  if (!isRecord(value)) throw new Error(`${path}: not a JSON object: ${res.text}`);
  return value;
}

export interface PlannedRepository {
  name: string;
  tags: Array<{ tag: string; digest: string; reasons: string[] }>;
  manifests: Array<{ digest: string; reason: string }>;
}

/** The repositories of a preview (or of a run's plan), checked field by field. */
export function plannedRepositories(plan: Record<string, unknown>): PlannedRepository[] {
  const repositories = plan.repositories;
  expect(Array.isArray(repositories)).toBe(true);
  return (repositories as unknown[]).map((entry) => {
    if (!isRecord(entry) || typeof entry.name !== "string" || !Array.isArray(entry.tags) || !Array.isArray(entry.manifests)) throw new Error(`bad plan entry ${JSON.stringify(entry)}`);
    const tags = entry.tags.map((tag: unknown) => {
      if (!isRecord(tag) || typeof tag.tag !== "string" || typeof tag.digest !== "string" || !Array.isArray(tag.reasons)) throw new Error(`bad tag ${JSON.stringify(tag)}`);
      return { tag: tag.tag, digest: tag.digest, reasons: tag.reasons.map(String) };
    });
    const manifests = entry.manifests.map((m: unknown) => {
      if (!isRecord(m) || typeof m.digest !== "string" || typeof m.reason !== "string") throw new Error(`bad manifest ${JSON.stringify(m)}`);
      return { digest: m.digest, reason: m.reason };
    });
    return { name: entry.name, tags, manifests };
  });
}

export function tagsOf(plan: Record<string, unknown>, repository: string): string[] {
  return (plannedRepositories(plan).find((r) => r.name === repository)?.tags ?? []).map((t) => t.tag).sort();
}

export function manifestsOf(plan: Record<string, unknown>, repository: string): string[] {
  return (plannedRepositories(plan).find((r) => r.name === repository)?.manifests ?? []).map((m) => m.digest).sort();
}

export async function tagList(base: string, repo: string): Promise<string[]> {
  const value = await json(base, `/v2/${repo}/tags/list`);
  return Array.isArray(value.tags) ? value.tags.map(String).sort() : [];
}

export function daysFromNow(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}
