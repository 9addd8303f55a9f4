/**
 * berth retention and berth tag restore: through a running server's admin socket, and in
 * process on the stopped storage (same configuration, same answers).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, runBerth, startBerth, tempDir, type BerthProcess } from "../../helpers/server.ts";
import { pushImage, tagList } from "./support.ts";

const CONFIG = `
[[retention.policies]]
repositories = ["cli/**"]
  [[retention.policies.rules]]
  most_recent = 1
`;

let root: string;
let configFile: string;
let berth: BerthProcess | null = null;
let oldDigest = "";

beforeAll(async () => {
  root = tempDir("berth-retention-cli-");
  configFile = join(root, "registry.toml");
  writeFileSync(configFile, CONFIG);
  berth = await startBerth({ root, args: ["serve", "--config", configFile] });
  oldDigest = (await pushImage(berth.url, "cli/app", "old")).digest;
  await pushImage(berth.url, "cli/app", "new");
});
afterAll(async () => {
  await berth?.stop();
  removeDir(root);
});

const env = () => ({ BERTH_STORAGE_ROOT: root });

test("preview through the server's admin socket", async () => {
  const preview = await runBerth(["retention", "preview", "--config", configFile], { env: env() });
  expect(preview.code, preview.stderr).toBe(0);
  expect(preview.stderr).toContain("admin.sock");
  expect(preview.stdout).toContain(`tag cli/app:old ${oldDigest}`);
  expect(preview.stdout).toContain("not among the 1 most recently pushed");
  const json = await runBerth(["retention", "preview", "--json", "--config", configFile], { env: env() });
  const parsed: unknown = JSON.parse(json.stdout);
  expect(JSON.stringify(parsed)).toContain('"tag":"old"');
});

test("run, runs and restore in process when no server runs", async () => {
  await berth?.stop();
  berth = null;
  const run = await runBerth(["retention", "run", "--config", configFile], { env: env(), timeoutMs: 60_000 });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).not.toContain("admin.sock");
  expect(run.stdout).toContain("1 tag(s) and 0 manifest(s) deleted");
  const runs = await runBerth(["retention", "runs", "--config", configFile], { env: env() });
  expect(runs.stdout).toContain("api: 1 tag(s), 0 manifest(s)");
  const restore = await runBerth(["tag", "restore", "cli/app:old", "--config", configFile], { env: env() });
  expect(restore.code, restore.stderr).toBe(0);
  expect(restore.stdout).toContain(`restored cli/app:old -> ${oldDigest}`);
  const bad = await runBerth(["tag", "restore", "cli/app", "--config", configFile], { env: env() });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("NAME:TAG");

  berth = await startBerth({ root, args: ["serve", "--config", configFile] });
  expect(await tagList(berth.url, "cli/app")).toEqual(["new", "old"]);
});
