import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseGoDuration } from "../../src/config/duration.ts";
import { loadConfiguration } from "../../src/config/load.ts";
import { REDACTED, redactConfig } from "../../src/config/redact.ts";
import { REGISTRY2_KEYS, registry2Variable } from "../../src/config/registry2/keys.ts";
import { registry2Table, TABLE_END, TABLE_START } from "../../src/config/registry2/table.ts";
import { removeDir, repoRoot, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-registry2-");
afterAll(() => removeDir(dir));

let counter = 0;
function file(text: string, extension = ".yml"): string {
  const sub = join(dir, `case-${++counter}`);
  mkdirSync(sub);
  const path = join(sub, `config${extension}`);
  writeFileSync(path, text);
  return path;
}

const load = (path: string | undefined, env: Record<string, string> = {}, cwd = dir) =>
  loadConfiguration({ ...(path ? { path } : {}), env, cwd });

/** The tutorials' complete example, as committed beside the tests (shared/registry2/config.yml). */
const TUTORIAL = readFileSync(join(import.meta.dir, "../fixtures/registry2-config.yml"), "utf8");

describe("registry:2 config.yml", () => {
  test("the tutorials' complete example maps key by key, with one note per key without effect", () => {
    const path = file(TUTORIAL);
    const { config, format, notes } = load(path);
    expect(format).toBe("registry2");
    expect(config.storage.root).toBe("/var/lib/registry");
    expect(config.storage.delete).toBe(true);
    expect(config.http.addr).toBe(":5000");
    expect(config.http.tls.certificate).toBe("/certs/domain.crt");
    expect(config.http.tls.key).toBe("/certs/domain.key");
    expect(config.auth.htpasswd).toBe("/auth/htpasswd");
    expect(config.auth.realm).toBe("Registry Realm");
    expect(config.auth.mode).toBe("basic");
    expect(config.log.level).toBe("info");
    const ignored = notes.map((note) => note.message.match(/key (\S+) is accepted/)?.[1]).filter(Boolean);
    expect(ignored).toEqual(["version", "log.fields", "storage.cache", "storage.filesystem.maxthreads", "health", "compatibility"]);
  });
  test("the fixture is the shared example as users paste it", () => {
    const shared = join(repoRoot, "../shared/registry2/config.yml");
    let original: string;
    try {
      original = readFileSync(shared, "utf8");
    } catch {
      return; // a clone without shared/ beside it: nothing to compare
    }
    expect(TUTORIAL).toBe(original);
  });
  test("relative paths in the file are relative to the file", () => {
    const path = file("storage:\n  filesystem:\n    rootdirectory: data\nauth:\n  htpasswd:\n    realm: r\n    path: ./users\n");
    const { config } = load(path);
    expect(config.storage.root).toBe(join(path, "../data"));
    expect(config.auth.htpasswd).toBe(join(path, "../users"));
  });
  test("YAML is recognised by content when the name says nothing", () => {
    expect(load(file("version: 0.1\nstorage:\n  delete:\n    enabled: false\n", ".conf")).format).toBe("registry2");
    expect(load(file('[storage]\ndelete = false\n', ".conf")).format).toBe("toml");
  });
  test("a file without storage.delete.enabled keeps deletes off, as registry:2 does", () => {
    expect(load(file("version: 0.1\n")).config.storage.delete).toBe(false);
  });
  test("upload purging, log formatter and notifications map to Berth keys", () => {
    const path = file(`
log:
  level: debug
  formatter: logstash
storage:
  maintenance:
    uploadpurging:
      enabled: true
      age: 168h
      interval: 1h30m
notifications:
  endpoints:
    - name: "ci hook"
      url: https://ci.example.com/events
      headers:
        Authorization: [Bearer abc]
      timeout: 500ms
      threshold: 5
      backoff: 1s
      ignoredmediatypes: [application/octet-stream]
      ignore:
        actions: [pull]
    - name: off
      url: https://x.example.com/
      disabled: true
`);
    const { config, notes } = load(path);
    expect(config.log).toEqual({ level: "info", format: "json" });
    expect(config.storage.uploads).toEqual({ purge: true, purge_after: "7d", purge_interval: "90m" });
    expect(config.webhook).toEqual({
      endpoints: [
        {
          name: "ci-hook",
          url: "https://ci.example.com/events",
          headers: { Authorization: "Bearer abc" },
          timeout: "500ms",
          retry: { backoff: "1s" },
          ignored_media_types: ["application/octet-stream"],
          actions: ["push", "delete", "mount"],
        },
      ],
    });
    expect(notes.some((note) => note.message.includes("threshold has no effect"))).toBe(true);
    expect(notes.some((note) => note.message.includes("(off) is disabled"))).toBe(true);
  });
  test.each([
    ["storage:\n  s3:\n    bucket: b\n", 'registry:2 key "storage.s3" cannot be honoured'],
    ["redis:\n  addr: localhost:6379\n", 'registry:2 key "redis" cannot be honoured'],
    ["auth:\n  token:\n    realm: https://auth.example.com/token\n", 'registry:2 key "auth.token" cannot be honoured'],
    ["proxy:\n  remoteurl: https://registry-1.docker.io\n", 'registry:2 key "proxy" cannot be honoured'],
    ["storage:\n  maintenance:\n    readonly:\n      enabled: true\n", "storage.maintenance.readonly.enabled"],
    ["http:\n  prefix: /registry/\n", 'registry:2 key "http.prefix" cannot be honoured'],
    ["http:\n  adr: :5000\n", 'Unknown registry:2 key "http.adr"'],
    ["auth:\n  htpasswd:\n    realm: r\n", "auth.htpasswd.path"],
    ["storage:\n  delete:\n    enabled: sometimes\n", '"storage.delete.enabled": expected true or false'],
    ["http:\n  tls:\n    clientcas: [a.pem, b.pem]\n", "concatenate"],
    ["log: [\n", "not valid YAML"],
  ])("a key Berth cannot honour stops start-up naming it: %p", (text, expected) => {
    expect(() => load(file(text))).toThrow(expected);
  });
});

describe("variables", () => {
  test("the tutorials' REGISTRY_* variables configure a registry without a file", () => {
    const { config, notes } = load(undefined, {
      REGISTRY_STORAGE_DELETE_ENABLED: "true",
      REGISTRY_HTTP_ADDR: "127.0.0.1:5001",
      REGISTRY_HTTP_TLS_CERTIFICATE: "certs/x.crt",
      REGISTRY_HTTP_TLS_KEY: "/certs/x.key",
      REGISTRY_AUTH_HTPASSWD_PATH: "/auth/htpasswd",
      REGISTRY_AUTH: "htpasswd",
      REGISTRY_AUTH_HTPASSWD_REALM: "Registry Realm",
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/srv/registry",
      REGISTRY_URL: "https://not-a-key.example.com",
    });
    expect(config.storage.delete).toBe(true);
    expect(config.http.addr).toBe("127.0.0.1:5001");
    expect(config.http.tls.certificate).toBe(join(dir, "certs/x.crt"));
    expect(config.http.tls.key).toBe("/certs/x.key");
    expect(config.auth).toMatchObject({ htpasswd: "/auth/htpasswd", realm: "Registry Realm", mode: "basic" });
    expect(config.storage.root).toBe("/srv/registry");
    expect(notes).toEqual([{ level: "warn", message: "Ignoring unrecognized environment variable REGISTRY_URL" }]);
  });
  test("REGISTRY_* variables override the file and BERTH_* variables override both", () => {
    const path = file('[http]\naddr = "127.0.0.1:6000"\n[storage]\ndelete = true\n', ".toml");
    const { config } = load(path, { REGISTRY_HTTP_ADDR: "127.0.0.1:6001", REGISTRY_STORAGE_DELETE_ENABLED: "false", BERTH_HTTP_ADDR: "127.0.0.1:6002" });
    expect(config.http.addr).toBe("127.0.0.1:6002");
    expect(config.storage.delete).toBe(false);
  });
  test("REGISTRY_STORAGE=s3 and REGISTRY_STORAGE_S3_* are refused like the file's keys", () => {
    expect(() => load(undefined, { REGISTRY_STORAGE: "s3" })).toThrow('registry:2 key "storage.s3" cannot be honoured');
    expect(() => load(undefined, { REGISTRY_STORAGE_S3_BUCKET: "b" })).toThrow('registry:2 key "storage.s3" cannot be honoured');
  });
  test("an unknown BERTH_ variable stops start-up with the nearest name", () => {
    expect(() => load(undefined, { BERTH_STORAGE_ROOTDIR: "/x" })).toThrow("Unknown variable BERTH_STORAGE_ROOTDIR (did you mean BERTH_STORAGE_ROOT?)");
    expect(() => load(undefined, { BERTH_NOTHING_LIKE_IT_AT_ALL_REALLY: "1" })).toThrow(/^Unknown variable BERTH_NOTHING_LIKE_IT_AT_ALL_REALLY$/);
  });
  test("relative paths from variables are relative to the working directory, from a TOML file to the file", () => {
    const path = file('[storage]\nroot = "store"\n[auth]\nhtpasswd = "users"\n', ".toml");
    const fromFile = load(path).config;
    expect(fromFile.storage.root).toBe(join(path, "../store"));
    expect(fromFile.auth.htpasswd).toBe(join(path, "../users"));
    const fromVariable = load(path, { BERTH_STORAGE_ROOT: "elsewhere" }).config;
    expect(fromVariable.storage.root).toBe(join(dir, "elsewhere"));
    expect(load(undefined).config.storage.root).toBe(join(dir, "data"));
  });
  test("REGISTRY_CONFIGURATION_PATH names the file when nothing else does", () => {
    const path = file("storage:\n  delete:\n    enabled: true\n");
    expect(load(undefined, { REGISTRY_CONFIGURATION_PATH: path }).file).toBe(path);
  });
});

describe("helpers", () => {
  test("Go durations", () => {
    expect(parseGoDuration("168h")).toBe(168 * 3_600_000);
    expect(parseGoDuration("1h30m")).toBe(90 * 60_000);
    expect(parseGoDuration("2.5s")).toBe(2500);
    expect(() => parseGoDuration("soon")).toThrow("Cannot parse duration");
  });
  test("redaction hides secrets, tokens, passwords and webhook headers, and nothing else", () => {
    const redacted = redactConfig({
      auth: { token_ttl: "5m", htpasswd: "/a" },
      webhook: { endpoints: [{ name: "n", secret: "s3cr3t", headers: { Authorization: "Bearer x" } }] },
      plugins: [{ path: "/p.ts", api_token: "t", password: "" }],
    });
    expect(redacted).toEqual({
      auth: { token_ttl: "5m", htpasswd: "/a" },
      webhook: { endpoints: [{ name: "n", secret: REDACTED, headers: { Authorization: REDACTED } }] },
      plugins: [{ path: "/p.ts", api_token: REDACTED, password: "" }],
    });
  });
});

describe("docs/migrating-from-registry2.md", () => {
  test("its key table is the one the translator reads (npm run docs rewrites it)", () => {
    const text = readFileSync(join(repoRoot, "docs/migrating-from-registry2.md"), "utf8");
    const table = text.slice(text.indexOf(TABLE_START), text.indexOf(TABLE_END) + TABLE_END.length);
    expect(table).toBe(registry2Table());
  });
  test("it names every variable the tutorials use", () => {
    const text = readFileSync(join(repoRoot, "docs/migrating-from-registry2.md"), "utf8");
    for (const key of ["storage.delete.enabled", "http.addr", "http.tls.certificate", "http.tls.key", "auth.htpasswd.realm", "auth.htpasswd.path"]) {
      expect(REGISTRY2_KEYS.some((entry) => entry.key === key)).toBe(true);
      expect(text).toContain(registry2Variable(key));
    }
  });
});
