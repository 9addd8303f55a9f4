/**
 * Directory login against a real OpenLDAP (tests/helpers/ldap.ts: the tests' own slapd on
 * loopback, LDAPS and StartTLS with the tests' CA), through the compiled binary: docker login
 * as a directory user, push and pull; rights from directory groups in token and basic mode;
 * disabled accounts (Active Directory's userAccountControl, a user_filter condition) and LDAP
 * injection in the user name refused; failed logins throttled; the directory down answers
 * 503 to its users while the htpasswd file's users go on working.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, basicHeader, fetchToken, makeTestCa, send, startAuthBerth, type TestCa, writeHtpasswd } from "../helpers/auth.ts";
import { buildTestImage, docker, ensureDocker, exec, removeImage, type TestImage } from "../helpers/docker.ts";
import { LDAP_USERS, ldapSection, startTestDirectory, type TestDirectory } from "../helpers/ldap.ts";
import { removeDir, testWithServerLog } from "../helpers/server.ts";

const ALICE = { user: "alice", password: "alice-file-pw" };

function config(mode: "token" | "basic", url: string, startTls: boolean): string {
  return `
[auth]
htpasswd = "auth/htpasswd"
mode = "${mode}"

[auth.throttle]
failures = 3

${ldapSection(url, { startTls })}
[[access]]
repositories = ["team/**"]
groups = ["devs"]
actions = ["pull", "push"]

[[access]]
repositories = ["team/**"]
groups = ["readers"]
actions = ["pull"]

[[access]]
repositories = ["**"]
users = ["alice"]
actions = ["*"]
`;
}

let ca: TestCa | undefined;
let directory: TestDirectory | undefined;
let image: TestImage | undefined;
let tokenBerth: AuthBerth | undefined;
let basicBerth: AuthBerth | undefined;
const test = testWithServerLog(() => [tokenBerth, basicBerth]);

async function startBerthFor(mode: "token" | "basic", url: string, startTls: boolean): Promise<AuthBerth> {
  const authority = ca as TestCa;
  return startAuthBerth({
    config: config(mode, url, startTls),
    prepare: async (dir) => {
      mkdirSync(join(dir, "tls"));
      copyFileSync(authority.caCert, join(dir, "tls/ca.crt"));
      await writeHtpasswd(join(dir, "auth/htpasswd"), [{ name: ALICE.user, password: ALICE.password }]);
      mkdirSync(join(dir, "docker-config"));
    },
  });
}

beforeAll(async () => {
  await ensureDocker();
  ca = await makeTestCa();
  directory = await startTestDirectory(ca);
  image = await buildTestImage({ name: "auth-ldap" });
  // token mode over LDAPS, basic mode over StartTLS: both ways of securing the directory link
  tokenBerth = await startBerthFor("token", directory.ldapsUrl, false);
  basicBerth = await startBerthFor("basic", directory.url, true);
}, 120_000);

afterAll(async () => {
  await tokenBerth?.stop();
  await basicBerth?.stop();
  await directory?.remove();
  if (image) await removeImage(image.id);
  if (ca) removeDir(ca.dir);
});

function dockerIn(berth: AuthBerth, args: string[], stdin?: string) {
  const options = { env: { DOCKER_CONFIG: join(berth.root, "docker-config") }, allowFailure: true, timeoutMs: 120_000 };
  return stdin === undefined ? docker(args, options) : exec(["docker", ...args], { ...options, stdin, env: { ...options.env, DOCKER_CLI_HINTS: "false" } });
}

/** The actions a token for `user` carries on repository `name` (token mode). */
async function granted(user: string, password: string, name: string): Promise<string[]> {
  const { claims } = await fetchToken(tokenBerth as AuthBerth, [`repository:${name}:pull,push,delete`], { user, password });
  const access = claims.access as Array<{ actions: string[] }>;
  return access[0]?.actions ?? [];
}

/** GET /v2/ on the basic-mode server with these credentials. */
async function basicStatus(user: string, password: string, path = "/v2/"): Promise<number> {
  return (await send(basicBerth as AuthBerth, path, { headers: { Authorization: basicHeader(user, password) } })).status;
}

describe("directory login", () => {
  test("docker login as a directory user, push and pull; a reader's push is denied", async () => {
    const berth = tokenBerth as AuthBerth;
    const img = image as TestImage;
    const login = await dockerIn(berth, ["login", berth.host, "--username", "lena", "--password-stdin"], LDAP_USERS.lena);
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    const ref = `${berth.host}/team/ldap:v1`;
    await dockerIn(berth, ["tag", img.id, ref]);
    const pushed = await dockerIn(berth, ["push", ref]);
    expect(pushed.exitCode).toBe(0);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    expect(digest).toBeDefined();
    await dockerIn(berth, ["rmi", ref]);
    const pulled = await dockerIn(berth, ["pull", ref]);
    expect(pulled.exitCode).toBe(0);
    expect(pulled.stdout).toContain(`Digest: ${digest}`);

    const reader = await dockerIn(berth, ["login", berth.host, "--username", "max", "--password-stdin"], LDAP_USERS.max);
    expect(reader.stdout + reader.stderr).toContain("Login Succeeded");
    await dockerIn(berth, ["rmi", ref]);
    expect((await dockerIn(berth, ["pull", ref])).exitCode).toBe(0);
    const other = `${berth.host}/team/ldap:by-max`;
    await dockerIn(berth, ["tag", img.id, other]);
    const denied = await dockerIn(berth, ["push", other]);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stdout + denied.stderr).toContain("denied");
    await dockerIn(berth, ["rmi", ref]);
    await dockerIn(berth, ["rmi", other]);
    await dockerIn(berth, ["logout", berth.host]);
  }, 240_000);

  test("rights follow directory groups (token mode): devs push, readers pull, no group nothing; the file's user as before", async () => {
    expect(await granted("lena", LDAP_USERS.lena, "team/app")).toEqual(["pull", "push"]);
    expect(await granted("max", LDAP_USERS.max, "team/app")).toEqual(["pull"]);
    expect(await granted("dora", LDAP_USERS.dora, "team/app")).toEqual([]);
    expect(await granted("lena", LDAP_USERS.lena, "other/app")).toEqual([]);
    expect(await granted(ALICE.user, ALICE.password, "other/app")).toEqual(["pull", "push", "delete"]);
  });

  test("rights follow directory groups (basic mode, StartTLS)", async () => {
    const berth = basicBerth as AuthBerth;
    const upload = (user: string, password: string) => send(berth, "/v2/team/app/blobs/uploads/", { method: "POST", headers: { Authorization: basicHeader(user, password) } });
    expect((await upload("lena", LDAP_USERS.lena)).status).toBe(202);
    expect((await upload("dora", LDAP_USERS.dora)).status).toBe(403);
    expect(await basicStatus("lena", LDAP_USERS.lena, "/v2/team/app/tags/list")).not.toBe(401);
    expect(await basicStatus("lena", "wrong")).toBe(401);
  });

  test("disabled accounts are refused with the right password: userAccountControl ACCOUNTDISABLE, and a user_filter condition", async () => {
    for (const [user, password] of [["bob", LDAP_USERS.bob], ["carol", LDAP_USERS.carol]] as const) {
      const reply = await send(tokenBerth as AuthBerth, "/auth/token?service=berth", { headers: { Authorization: basicHeader(user, password) } });
      expect(reply.status).toBe(401);
    }
    // dora's userAccountControl (512) is a normal account: the check reads the bit, not the attribute
    expect(await basicStatus("dora", LDAP_USERS.dora)).toBe(200);
  });

  test("LDAP injection in the user name is refused; an empty password never binds", async () => {
    // with the name put into the filter unescaped, each of these would find lena's entry
    for (const user of ["*", "le*", "lena)(uid=*", "*)(|(uid=lena", "lena\\2a"]) {
      const reply = await send(tokenBerth as AuthBerth, "/auth/token?service=berth", { headers: { Authorization: basicHeader(user, LDAP_USERS.lena) } });
      expect(reply.status).toBe(401);
    }
    const empty = await send(tokenBerth as AuthBerth, "/auth/token?service=berth", { headers: { Authorization: basicHeader("lena", "") } });
    expect(empty.status).toBe(401);
  });

  test("failed logins of directory users are throttled like the file's", async () => {
    for (let i = 0; i < 3; i++) expect(await basicStatus("dora", `wrong-${i}`)).toBe(401);
    expect(await basicStatus("dora", LDAP_USERS.dora)).toBe(429);
  });

  test("directory down: its users get 503, the file's users go on; back up, they sign in again", async () => {
    const ldap = directory as TestDirectory;
    await ldap.stop();
    try {
      // max never signed in on this server: nothing remembered
      expect(await basicStatus("max", LDAP_USERS.max)).toBe(503);
      const token = await send(tokenBerth as AuthBerth, "/auth/token?service=berth", { headers: { Authorization: basicHeader("carol", "anything") } });
      expect(token.status).toBe(503);
      expect(token.text).toContain("does not answer");
      expect(await basicStatus(ALICE.user, ALICE.password)).toBe(200);
      expect((await fetchToken(tokenBerth as AuthBerth, ["repository:team/app:pull"], ALICE)).claims.sub).toBe("alice");
    } finally {
      await ldap.start();
    }
    expect(await basicStatus("max", LDAP_USERS.max)).toBe(200);
  });
});
