/**
 * Operator plugin files: imported at start by the binary under test (the compiled dist/berth
 * when BERTH_BIN is set, as `npm test` does), given their options and data directory, and
 * told about pushes. A file that cannot be loaded stops start-up, naming the file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, repoRoot, runBerth, startBerth, tempDir, waitForOutput, withServerLog, type BerthProcess } from "../helpers/server.ts";
import { prepareImage, putManifest, writeConfig } from "../plugins/webhook/support.ts";

const binary = process.env.BERTH_BIN ? "the compiled binary" : "berth run from source";

/** A push logger using only PluginContext: one JSON line per push in its data directory. */
const LOGGER_PLUGIN = `
import { appendFileSync } from "node:fs";
import { join } from "node:path";

export default function createPlugin(options: Record<string, unknown>) {
  return {
    name: "push-logger",
    setup(ctx: { dataDir: string; on(action: "push", fn: (event: { target: { repository: string; tag?: string; digest: string; mediaType: string } }) => void): void }) {
      const file = join(ctx.dataDir, "pushes.jsonl");
      ctx.on("push", (event) => {
        const { repository, tag, digest, mediaType } = event.target;
        appendFileSync(file, JSON.stringify({ label: options.label, repository, tag: tag ?? null, digest, mediaType }) + "\\n");
      });
    },
  };
}
`;

interface Logged {
  label: string;
  repository: string;
  tag: string | null;
  digest: string;
  mediaType: string;
}

async function runUntilExit(configPath: string, root: string): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await runBerth(["serve", "--config", configPath], {
    cwd: root,
    env: { BERTH_HTTP_ADDR: "127.0.0.1:0", BERTH_STORAGE_ROOT: root },
    timeoutMs: 15_000,
  });
  return { code, output: stdout + stderr };
}

describe(`operator plugin files (${binary})`, () => {
  let berth: BerthProcess | undefined;
  const dirs: string[] = [];
  const logs = () => [berth];

  afterAll(async () => {
    await berth?.stop();
    for (const dir of dirs) removeDir(dir);
  });

  test(
    "a plugin file listed under [[plugins]] gets its options and data directory and receives push events",
    withServerLog(logs, async () => {
      const dir = tempDir("berth-plugin-file-");
      dirs.push(dir);
      writeFileSync(join(dir, "push-logger.ts"), LOGGER_PLUGIN);
      const config = writeConfig(dir, { plugins: [{ path: "push-logger.ts", label: "from-options" }] });
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
      const image = await prepareImage(berth.url, "logged/app");
      await putManifest(berth.url, "logged/app", "v1", image.manifest);

      const file = join(dir, "berth/plugins/push-logger/pushes.jsonl");
      const lines = async (): Promise<Logged[]> =>
        existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Logged) : [];
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && (await lines()).length < 3) await Bun.sleep(25);
      const logged = await lines();
      expect(logged).toHaveLength(3);
      expect(logged.filter((l) => l.tag === null).map((l) => l.digest).sort()).toEqual([image.config.digest, image.layer.digest].sort());
      expect(logged.find((l) => l.tag === "v1")).toEqual({
        label: "from-options",
        repository: "logged/app",
        tag: "v1",
        digest: image.digest,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
      });
    }),
    30_000,
  );

  test(
    "the complete plugin in docs/plugins.md refuses a denied tag, logs a version push and serves the log",
    withServerLog(logs, async () => {
      const docs = readFileSync(join(repoRoot, "docs/plugins.md"), "utf8");
      const source = /<!-- docs-test: tag-policy\.ts -->\n```ts\n([\s\S]*?)\n```/.exec(docs)?.[1];
      if (!source) throw new Error("docs/plugins.md has no block marked docs-test: tag-policy.ts");
      const dir = tempDir("berth-plugin-docs-");
      dirs.push(dir);
      writeFileSync(join(dir, "tag-policy.ts"), source);
      const config = writeConfig(dir, { plugins: [{ path: "tag-policy.ts", denied_tags: ["latest"] }] });
      await berth?.stop();
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
      const image = await prepareImage(berth.url, "team/app");
      const refused = await putManifest(berth.url, "team/app", "latest", image.manifest, [403]);
      expect(refused.status).toBe(403);
      await putManifest(berth.url, "team/app", "1.4.0", image.manifest);
      const base = berth.url;
      const pushes = async () => ((await (await fetch(`${base}/api/tag-policy/pushes`)).json()) as { pushes: Array<Record<string, string>> }).pushes;
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && (await pushes()).length === 0) await Bun.sleep(25);
      expect(await pushes()).toEqual([{ time: expect.any(String), repository: "team/app", tag: "1.4.0", digest: image.digest, user: "" }]);
    }),
    30_000,
  );

  test(
    "the minimal plugin in the README refuses a denied tag and accepts a version tag",
    withServerLog(logs, async () => {
      const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
      const source = /<!-- docs-test: no-latest\.ts -->\n```ts\n([\s\S]*?)\n```/.exec(readme)?.[1];
      if (!source) throw new Error("README.md has no block marked docs-test: no-latest.ts");
      const dir = tempDir("berth-plugin-readme-");
      dirs.push(dir);
      writeFileSync(join(dir, "no-latest.ts"), source);
      const config = writeConfig(dir, { plugins: [{ path: "no-latest.ts", denied_tags: ["latest"] }] });
      await berth?.stop();
      berth = await startBerth({ root: dir, args: ["serve", "--config", config], env: { BERTH_LOG_LEVEL: "info" } });
      const image = await prepareImage(berth.url, "team/app");
      const refused = await fetch(`${berth.url}/v2/team/app/manifests/latest`, {
        method: "PUT",
        body: image.manifest,
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]).toMatchObject({
        code: "DENIED",
        message: 'Tag "latest" may not be pushed to team/app',
      });
      const accepted = await putManifest(berth.url, "team/app", "2.0.0", image.manifest);
      expect(accepted.status).toBe(201);
      expect(await waitForOutput(berth, "tag=2.0.0")).toContain("tag=2.0.0");
    }),
    30_000,
  );

  test("a plugin file that fails to load stops start-up with its path and a non-zero exit", async () => {
    const dir = tempDir("berth-plugin-broken-");
    dirs.push(dir);
    const broken = join(dir, "broken-plugin.ts");
    writeFileSync(broken, "export default {\n  name: 'broken',\n  setup(ctx) { ctx.on('push', () => { }\n};\n");
    const result = await runUntilExit(writeConfig(dir, { plugins: [{ path: "broken-plugin.ts" }] }), dir);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain(broken);

    const missing = join(dir, "missing-plugin.ts");
    const absent = await runUntilExit(writeConfig(dir, { plugins: [{ path: missing }] }), dir);
    expect(absent.code, absent.output).not.toBe(0);
    expect(absent.output).toContain(missing);

    const notAPlugin = join(dir, "not-a-plugin.ts");
    writeFileSync(notAPlugin, "export const answer = 42;\n");
    const wrongShape = await runUntilExit(writeConfig(dir, { plugins: [{ path: "not-a-plugin.ts" }] }), dir);
    expect(wrongShape.code, wrongShape.output).not.toBe(0);
    expect(wrongShape.output).toContain(notAPlugin);
  }, 60_000);
});
