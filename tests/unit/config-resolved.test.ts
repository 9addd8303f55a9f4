/** The resolved configuration: what Berth reads after loading (ms, normalised URL, absolute paths). */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { checkPluginConfig } from "../../src/cli/plugins.ts";
import { ConfigError, loadConfiguration, reloadConfiguration } from "../../src/config/load.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-config-resolved-");
afterAll(() => removeDir(dir));

let files = 0;
function file(text: string, extension = ".toml"): string {
  const path = join(dir, `config-${++files}${extension}`);
  writeFileSync(path, text);
  return path;
}

const load = (path: string | undefined, env: Record<string, string> = {}) =>
  loadConfiguration({ env, cwd: dir, ...(path === undefined ? {} : { path }) });

describe("resolved configuration", () => {
  test("durations are milliseconds", () => {
    const { resolved } = load(
      file('[storage.uploads]\npurge_after = "2d"\npurge_interval = "90s"\n[hooks]\ntimeout = "250ms"\n[auth]\ntoken_ttl = "10m"\n[auth.throttle]\nwindow = "1h"\nlockout = "45s"\n'),
    );
    expect(resolved.storage.uploads).toEqual({ purge: true, purgeAfterMs: 2 * 86_400_000, purgeIntervalMs: 90_000 });
    expect(resolved.hooks).toEqual({ timeoutMs: 250, onFailure: "deny" });
    expect(resolved.auth.tokenTtlMs).toBe(600_000);
    expect(resolved.auth.throttle).toEqual({ failures: 5, windowMs: 3_600_000, lockoutMs: 45_000 });
  });

  test("the defaults resolve too", () => {
    const { resolved } = load(undefined);
    expect(resolved.storage.uploads).toEqual({ purge: true, purgeAfterMs: 86_400_000, purgeIntervalMs: 3_600_000 });
    expect(resolved.hooks.timeoutMs).toBe(5000);
    expect(resolved.auth.tokenTtlMs).toBe(300_000);
    expect(resolved.http.publicUrl).toBe("");
    expect(resolved.storage.driver).toBe("filesystem");
  });

  test.each([
    ["https://registry.example.com/", "https://registry.example.com"],
    ["https://registry.example.com//", "https://registry.example.com"],
    ["https://example.com/registry/", "https://example.com/registry"],
    ["https://registry.example.com", "https://registry.example.com"],
  ])("http.public_url %p is read as %p; config check still shows it as written", (written, expected) => {
    const loaded = load(undefined, { BERTH_HTTP_PUBLIC_URL: written });
    expect(loaded.resolved.http.publicUrl).toBe(expected);
    expect(loaded.config.http.public_url).toBe(written);
  });

  test("paths are absolute: from a file relative to it, from variables relative to the working directory", () => {
    const sub = join(dir, "sub");
    mkdirSync(sub, { recursive: true });
    const path = join(sub, "registry.toml");
    writeFileSync(path, '[storage]\nroot = "store"\n[auth]\nhtpasswd = "users"\n[http.tls]\ncertificate = "tls/c.pem"\nkey = "tls/k.pem"\nclient_ca = "tls/ca.pem"\n[[plugins]]\npath = "p.ts"\ntoken = "t"\n');
    const { resolved } = load(path, { BERTH_HTTP_TLS_KEY: "elsewhere/k.pem" });
    expect(resolved.storage.root).toBe(join(sub, "store"));
    expect(resolved.auth.htpasswd).toBe(join(sub, "users"));
    expect(resolved.http.tls).toEqual({ certificate: join(sub, "tls/c.pem"), key: join(dir, "elsewhere/k.pem"), clientCa: join(sub, "tls/ca.pem") });
    expect(resolved.plugins).toEqual([{ path: join(sub, "p.ts"), options: { token: "t" } }]);
    expect(isAbsolute(load(undefined).resolved.storage.root)).toBe(true);
  });

  test("a reload reads the file found at start, not one found again", () => {
    const cwd = join(dir, "reload");
    mkdirSync(cwd);
    const path = file('[http]\naddr = "127.0.0.1:6000"\n');
    const running = loadConfiguration({ env: {}, cwd, path });
    writeFileSync(path, '[http]\naddr = "127.0.0.1:6001"\n');
    expect(reloadConfiguration(running, { env: {}, cwd }).resolved.http.addr).toBe("127.0.0.1:6001");
    // started without a file: a registry.toml created since is not taken on reload
    const defaults = loadConfiguration({ env: {}, cwd });
    expect(defaults.file).toBeNull();
    writeFileSync(join(cwd, "registry.toml"), '[http]\naddr = "127.0.0.1:7001"\n');
    expect(loadConfiguration({ env: {}, cwd }).resolved.http.addr).toBe("127.0.0.1:7001");
    expect(reloadConfiguration(defaults, { env: {}, cwd }).resolved.http.addr).toBe("0.0.0.0:5000");
  });
});

describe("storage.driver", () => {
  test("filesystem and inmemory are accepted; inmemory is warned about", () => {
    const filesystem = load(file('[storage]\ndriver = "filesystem"\n'));
    expect(filesystem.resolved.storage.driver).toBe("filesystem");
    expect(filesystem.notes).toEqual([]);
    const inmemory = load(undefined, { BERTH_STORAGE_DRIVER: "inmemory" });
    expect(inmemory.resolved.storage.driver).toBe("inmemory");
    expect(inmemory.notes).toEqual([{ level: "warn", message: expect.stringContaining("lost when it stops") }]);
  });

  test("any other driver is refused naming the key", () => {
    expect(() => load(file('[storage]\ndriver = "gcs"\n'))).toThrow(ConfigError);
    expect(() => load(file('[storage]\ndriver = "gcs"\n'))).toThrow(/^Invalid config key "storage.driver" in .*: .*filesystem.*s3.*inmemory.*; got "gcs"$/);
    expect(() => load(undefined, { BERTH_STORAGE_DRIVER: "memory" })).toThrow('Invalid config key "storage.driver"');
  });

  test.each([
    ["a config.yml", "version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: true\n", {}],
    ["a config.yml with an empty section", "version: 0.1\nstorage:\n  inmemory: {}\n", {}],
    ["REGISTRY_STORAGE=inmemory", "version: 0.1\n", { REGISTRY_STORAGE: "inmemory" }],
  ])("registry:2's storage.inmemory becomes storage.driver = \"inmemory\": %s", (_name, yaml, env) => {
    const loaded = load(file(yaml, ".yml"), env);
    expect(loaded.resolved.storage.driver).toBe("inmemory");
    expect(loaded.notes.some((note) => note.level === "warn" && note.message.includes("inmemory"))).toBe(true);
  });

  test.each([
    ["storage:\n  inmemory:\n  filesystem:\n    rootdirectory: /var/lib/registry\n", 'registry:2 keys "storage.filesystem" and "storage.inmemory" both choose a storage driver'],
    ["storage:\n  inmemory:\n    size: 10\n", 'Unknown registry:2 key "storage.inmemory.size"'],
    ["storage:\n  s3:\n    bucket: b\n", 'registry:2 key "storage.s3" cannot be honoured'],
  ])("registry:2 storage that Berth cannot honour is refused: %p", (yaml, expected) => {
    expect(() => load(file(yaml, ".yml"))).toThrow(expected);
  });
});

describe("built-in plugin options", () => {
  test("the webhook plugin's refusal reaches the operator as a ConfigError with the plugin's words", async () => {
    const { resolved } = load(file('[[webhook.endpoints]]\nname = "ci"\nurl = "http://ci.local/hook"\ncolour = "red"\n'));
    const refused = checkPluginConfig(resolved);
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/^Unknown config key "webhook.endpoints\[0\].colour"$/);
  });
});
