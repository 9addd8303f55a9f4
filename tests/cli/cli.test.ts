import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, removeDir, runBerth, startBerth, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-cli-");
afterAll(() => removeDir(dir));

const run = (args: string[], env: Record<string, string> = {}) => runBerth(args, { cwd: dir, env });

describe("berth command", () => {
  test("version prints the package version", async () => {
    const { stdout, code } = await run(["version"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^berth \d+\.\d+\.\d+\n$/);
  });
  test("--help on each command says how to use it", async () => {
    for (const args of [["--help"], ["serve", "--help"], ["config", "--help"], ["version", "--help"]]) {
      const { stdout, code } = await run(args);
      expect(code).toBe(0);
      expect(stdout).toContain("Usage");
    }
  });
  test("config check prints the effective configuration with BERTH_* overrides", async () => {
    const { stdout, code } = await run(["config", "check"], { BERTH_HTTP_ADDR: "127.0.0.1:7000" });
    expect(code).toBe(0);
    const json = JSON.parse(stdout.slice(stdout.indexOf("{")));
    expect(json.http.addr).toBe("127.0.0.1:7000");
    expect(json.storage.root).toBe(join(dir, "data"));
  });
  test("config check names a wrong key in one line and exits non-zero", async () => {
    const path = join(dir, "bad.toml");
    writeFileSync(path, '[storage]\ndelete = "sometimes"\n');
    const { stderr, code } = await run(["config", "check", "--config", path]);
    expect(code).not.toBe(0);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("storage.delete");
  });
  test("unknown commands and options fail with one clear line", async () => {
    for (const args of [["frobnicate"], ["serve", "--port", "1"], ["config", "show"]]) {
      const { stderr, code } = await run(args);
      expect(code).toBe(1);
      expect(stderr.trim().split("\n")).toHaveLength(1);
    }
  });
  test("serve with no config file starts a working registry with data in ./data", async () => {
    const cwd = tempDir("berth-defaults-");
    // no BERTH_STORAGE_ROOT: the default ./data under the working directory is used
    let berth: BerthProcess | undefined;
    try {
      berth = await startBerth({ root: cwd, env: { BERTH_STORAGE_ROOT: "./data" } });
      const res = await fetch(`${berth.url}/v2/`);
      expect(res.status).toBe(200);
      expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      const health = await fetch(`${berth.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await Bun.file(join(cwd, "data/berth")).exists()).toBe(false); // a directory, not a file
      expect(existsSync(join(cwd, "data"))).toBe(true);
    } finally {
      await berth?.stop();
      removeDir(cwd);
    }
  });
  test("serve refuses a port already in use with one clear line", async () => {
    const berth = await startBerth();
    try {
      const { stderr, code } = await run(["serve"], { BERTH_HTTP_ADDR: berth.host, BERTH_STORAGE_ROOT: join(dir, "d2") });
      expect(code).toBe(1);
      expect(stderr).toContain(String(berth.port));
    } finally {
      await berth.stop();
    }
  });
});
