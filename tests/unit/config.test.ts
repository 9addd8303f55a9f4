import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { parseDuration } from "../../src/util/duration.ts";
import { parseListenAddress } from "../../src/cli/serve.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-config-");
afterAll(() => removeDir(dir));

function file(text: string): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, text);
  return path;
}

describe("configuration", () => {
  test("no file gives a working default: port 5000, data in ./data, deletes on", () => {
    const config = loadConfig({ env: {}, path: file("") });
    expect(config.http.addr).toBe("0.0.0.0:5000");
    expect(config.storage.root).toBe(resolve("./data"));
    expect(config.storage.delete).toBe(true);
    expect(config.limits.max_manifest_bytes).toBe(4 * 1024 * 1024);
  });
  test("the documented registry.toml at the repository root equals the built-in defaults", () => {
    const documented = loadConfig({ env: {}, path: join(import.meta.dir, "../../registry.toml") });
    expect(documented).toEqual(loadConfig({ env: {}, path: file("") }));
  });
  test("file values apply and BERTH_* variables override them", () => {
    const path = file('[http]\naddr = "127.0.0.1:6000"\n[storage]\nroot = "/srv/reg"\ndelete = true\n');
    const config = loadConfig({
      path,
      env: { BERTH_STORAGE_DELETE: "false", BERTH_HTTP_PUBLIC_URL: "https://r.example.com", BERTH_STORAGE_UPLOADS_PURGE_AFTER: "2s", BERTH_LIMITS_MAX_MANIFEST_BYTES: "2048" },
    });
    expect(config.http.addr).toBe("127.0.0.1:6000");
    expect(config.storage.root).toBe("/srv/reg");
    expect(config.storage.delete).toBe(false);
    expect(config.http.public_url).toBe("https://r.example.com");
    expect(config.storage.uploads.purge_after).toBe("2s");
    expect(config.limits.max_manifest_bytes).toBe(2048);
  });
  test.each([
    ['[http]\nadr = "x"\n', 'Unknown config key "http.adr"'],
    ["[http]\naddr = 5\n", '"http.addr"'],
    ['[storage]\ndelete = "yes"\n', '"storage.delete"'],
    ['[storage.uploads]\npurge_after = "soon"\n', '"storage.uploads.purge_after"'],
    ['[log]\nformat = "xml"\n', '"log.format"'],
    ["[http\n", "not valid TOML"],
  ])("a wrong key or value names the key: %p", (text, expected) => {
    expect(() => loadConfig({ env: {}, path: file(text) })).toThrow(expected);
  });
  test("a wrong environment value names the variable", () => {
    expect(() => loadConfig({ env: { BERTH_STORAGE_DELETE: "maybe" }, path: file("") })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { BERTH_STORAGE_DELETE: "maybe" }, path: file("") })).toThrow("BERTH_STORAGE_DELETE");
  });
  test("a missing explicit file is an error", () => {
    expect(() => loadConfig({ env: {}, path: join(dir, "missing.toml") })).toThrow("Cannot read config file");
  });
  test("durations and listen addresses parse", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(() => parseDuration("1y")).toThrow(RangeError);
    expect(parseListenAddress(":5000")).toEqual({ hostname: "0.0.0.0", port: 5000 });
    expect(parseListenAddress("127.0.0.1:5001")).toEqual({ hostname: "127.0.0.1", port: 5001 });
    expect(parseListenAddress("[::1]:5002")).toEqual({ hostname: "::1", port: 5002 });
    expect(() => parseListenAddress("localhost")).toThrow(RangeError);
  });
});
