/** [auth.ldap] and [[auth.oidc_trust]] in the configuration: loading, redaction, start-up checks. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkAuthConfig } from "../../../src/auth/check.ts";
import { ConfigError, loadConfiguration } from "../../../src/config/load.ts";
import { redactConfig } from "../../../src/config/redact.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";

const dir = tempDir("berth-ldap-config-");
afterAll(() => removeDir(dir));
writeFileSync(join(dir, "htpasswd"), "");
mkdirSync(join(dir, "tls"));
writeFileSync(join(dir, "tls/ca.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

function load(text: string, env: Record<string, string> = {}) {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, text);
  return loadConfiguration({ path, env, cwd: dir });
}

const LDAP = `
[auth]
htpasswd = "htpasswd"
[auth.ldap]
url = "ldaps://ldap.example.com"
ca_file = "tls/ca.crt"
bind_dn = "cn=svc,dc=example,dc=com"
bind_password = "s3cret"
user_base = "ou=people,dc=example,dc=com"
`;

describe("[auth.ldap] configuration", () => {
  test("is read with defaults; ca_file is relative to the config file; BERTH_AUTH_LDAP_* variables override", () => {
    const loaded = load(LDAP, { BERTH_AUTH_LDAP_TIMEOUT: "2s" });
    expect(loaded.resolved.auth.ldap).toMatchObject({
      url: "ldaps://ldap.example.com",
      caFile: join(dir, "tls/ca.crt"),
      userFilter: "(uid={user})",
      groupFilter: "(|(member={dn})(uniqueMember={dn}))",
      groupAttribute: "cn",
      timeoutMs: 2000,
    });
    expect(checkAuthConfig(loaded.resolved, null)).not.toBeNull();
  });

  test("bind_password is redacted where the configuration is printed", () => {
    const printed = JSON.stringify(redactConfig(load(LDAP).config));
    expect(printed).not.toContain("s3cret");
    expect(printed).toContain('"bind_password":"<redacted>"');
  });

  test("an empty url turns directory login off", () => {
    expect(load("").resolved.auth.ldap).toBeNull();
  });

  test("a url that is not ldap:// or ldaps:// is refused by the schema", () => {
    expect(() => load('[auth.ldap]\nurl = "http://ldap.example.com"\n')).toThrow(ConfigError);
  });

  const refused: Array<[string, string, RegExp]> = [
    ["start_tls with ldaps://", `${LDAP}start_tls = true\n`, /start_tls is for ldap:\/\//],
    ["a user_filter that does not parse", `${LDAP}user_filter = "(uid={user}"\n`, /user_filter .* is not an LDAP filter/],
    ["a user_filter without {user}", `${LDAP}user_filter = "(uid=admin)"\n`, /must contain \{user\}/],
    ["a group_filter that does not parse", `${LDAP}group_filter = "member={dn}"\n`, /group_filter .* is not an LDAP filter/],
    ["no user_base", LDAP.replace(/user_base = .*\n/, ""), /user_base is needed/],
    ["a missing ca_file", LDAP.replace("tls/ca.crt", "tls/none.crt"), /Cannot read \[auth.ldap\] ca_file .*no such file/],
    ["no htpasswd", LDAP.replace('htpasswd = "htpasswd"', ""), /need \[auth\] htpasswd/],
  ];
  for (const [what, text, message] of refused) {
    test(`start-up stops on ${what}`, () => {
      expect(() => checkAuthConfig(load(text).resolved, null)).toThrow(message);
    });
  }

  test("with a directory, [[access]] may name groups [auth.groups] does not define (directory groups)", () => {
    const rules = '\n[[access]]\nrepositories = ["team/**"]\ngroups = ["devs"]\nactions = ["pull"]\n';
    expect(() => checkAuthConfig(load(`${LDAP}${rules}`).resolved, null)).not.toThrow();
    expect(() => checkAuthConfig(load(`[auth]\nhtpasswd = "htpasswd"\n${rules}`).resolved, null)).toThrow(/does not define/);
  });
});

describe("[[auth.oidc_trust]] configuration", () => {
  const trust = (issuer: string, extra = "") => `[auth]\nhtpasswd = "htpasswd"\n[[auth.oidc_trust]]\nissuer = "${issuer}"\naudience = "berth"\nrepositories = ["org/**"]\nactions = ["push"]\n${extra}`;

  test("https issuers, and http only on loopback; claims are globs or lists of globs", () => {
    const loaded = load(trust("https://token.actions.githubusercontent.com", 'claims = { repository = "org/*", ref = ["refs/heads/main", "refs/tags/v*"] }\n'));
    expect(loaded.resolved.auth.oidcTrust[0]?.claims).toEqual({ repository: "org/*", ref: ["refs/heads/main", "refs/tags/v*"] });
    expect(() => checkAuthConfig(loaded.resolved, null)).not.toThrow();
    expect(() => load(trust("http://127.0.0.1:8080/issuer"))).not.toThrow();
    expect(() => load(trust("http://issuer.example.com"))).toThrow(ConfigError);
  });

  test("an entry needs repositories and actions", () => {
    expect(() => load('[[auth.oidc_trust]]\nissuer = "https://x.example.com"\naudience = "berth"\n')).toThrow(ConfigError);
  });
});
