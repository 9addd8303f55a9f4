/** `berth config check` and `berth config convert`, and start-up refusals, run as the binary. */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { isLoopback } from "../../src/cli/preflight.ts";
import { removeDir, runBerth, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-config-cli-");
afterAll(() => removeDir(dir));

const run = (args: string[], env: Record<string, string> = {}) => runBerth(args, { cwd: dir, env });

const SECRETS = `
[[webhook.endpoints]]
name = "ci"
url = "https://ci.example.com/hook"
secret = "hmac-key-do-not-print"
headers = { Authorization = "Bearer header-token-do-not-print" }

[[plugins]]
path = "plugin.ts"
api_token = "plugin-token-do-not-print"
`;

describe("berth config check", () => {
  test("never prints a secret: webhook secret, endpoint headers, a plugin's token", async () => {
    writeFileSync(join(dir, "plugin.ts"), 'export default { name: "noop", setup() {} };\n');
    const path = join(dir, "secrets.toml");
    writeFileSync(path, SECRETS);
    for (const args of [["config", "check", "--config", path], ["config", "check", "--json", "--config", path]]) {
      const { stdout, stderr, code } = await run(args);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).not.toContain("do-not-print");
      expect(stdout.match(/<redacted>/g)?.length).toBe(3);
    }
  });
  test("--json prints machine-readable JSON, valid or not", async () => {
    const ok = await run(["config", "check", "--json"], { BERTH_HTTP_ADDR: "127.0.0.1:7001" });
    expect(ok.code).toBe(0);
    const parsed: unknown = JSON.parse(ok.stdout);
    expect(parsed).toMatchObject({ valid: true, config: { http: { addr: "127.0.0.1:7001" } } });
    const bad = await run(["config", "check", "--json"], { BERTH_HTTP_ADDR: "nonsense" });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({ valid: false, error: 'Cannot parse http.addr "nonsense": expected host:port, e.g. 0.0.0.0:5000' });
  });
  test.each([
    ["an address serve cannot listen on", { BERTH_HTTP_ADDR: "nonsense" }, "", "http.addr"],
    ["a missing users file", { BERTH_AUTH_HTPASSWD: "missing-htpasswd" }, "", "Cannot read [auth] htpasswd file"],
    ["a certificate without its key", { BERTH_HTTP_TLS_CERTIFICATE: "cert.pem" }, "", "http.tls.certificate is set but http.tls.key is not"],
    ["a storage root that is a file", { BERTH_STORAGE_ROOT: "plain-file" }, "plain-file", "is not a directory"],
    ["a plugin file that does not exist", {}, '[[plugins]]\npath = "nowhere.ts"\n', "Cannot load plugin"],
    ["an unknown BERTH_ variable", { BERTH_STORAGE_ROOTDIR: "/x" }, "", "Unknown variable BERTH_STORAGE_ROOTDIR (did you mean BERTH_STORAGE_ROOT?)"],
  ])("fails where serve would refuse: %s", async (_name, env, fileText, expected) => {
    writeFileSync(join(dir, "plain-file"), "x");
    const path = join(dir, `case-${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(path, fileText === "plain-file" ? "" : fileText);
    const check = await run(["config", "check", "--config", path], env);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(expected);
    expect(check.stderr.trim().split("\n")).toHaveLength(1);
    const serve = await run(["serve", "--config", path], { BERTH_HTTP_ADDR: "127.0.0.1:0", ...env });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain(expected);
  });
});

describe("berth config convert", () => {
  test("prints a registry.toml that loads to the same configuration as the config.yml", async () => {
    const yml = join(dir, "config.yml");
    writeFileSync(
      yml,
      readFileSync(join(import.meta.dir, "../fixtures/registry2-config.yml"), "utf8").replace(/\/certs\/|\/auth\//g, "./").replace("/var/lib/registry", "./registry"),
    );
    writeFileSync(join(dir, "domain.crt"), "");
    const { stdout, code } = await run(["config", "convert", yml]);
    expect(code).toBe(0);
    expect(stdout).toContain("# registry:2 key health is accepted and has no effect");
    const toml = parse(stdout);
    expect(toml).toMatchObject({
      storage: { root: "./registry", delete: true },
      http: { addr: ":5000", tls: { certificate: "./domain.crt", key: "./domain.key" } },
      auth: { htpasswd: "./htpasswd", realm: "Registry Realm", mode: "basic" },
    });
    const converted = join(dir, "converted.toml");
    writeFileSync(converted, stdout);
    const fromToml = JSON.parse((await run(["config", "check", "--json", "--config", converted], {})).stdout || "{}");
    const fromYaml = JSON.parse((await run(["config", "check", "--json", "--config", yml], {})).stdout || "{}");
    // both fail the same preflight (the certificate is empty) or pass the same way
    expect(fromToml.valid).toBe(fromYaml.valid);
  });
  test("refuses a file that is not registry:2 YAML", async () => {
    const path = join(dir, "list.yml");
    writeFileSync(path, "- a\n- b\n");
    const { stderr, code } = await run(["config", "convert", path]);
    expect(code).toBe(1);
    expect(stderr).toContain("not a registry:2 configuration");
  });
});

describe("start-up", () => {
  // the warning itself needs a non-loopback listener, which tests never open: the rule is checked here
  test("only loopback addresses count as private for the open-registry warning", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(isLoopback(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "registry.example.com", ""]) expect(isLoopback(host)).toBe(false);
  });
});
