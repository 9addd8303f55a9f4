/**
 * CI without stored secrets, through the compiled binary: a local OIDC issuer (discovery and
 * JWKS on loopback, tokens signed here with WebCrypto) and [[auth.oidc_trust]]. A token with
 * matching claims pushes (docker login -u oidc, and POST /auth/oidc for a bearer token);
 * wrong audience, expired, another issuer, claims that do not match, an unknown key id, a
 * forged signature and alg none are refused; the issuer's key rotation is followed.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, basicHeader, pushTestImage, send, startAuthBerth, writeHtpasswd } from "../helpers/auth.ts";
import { buildTestImage, docker, ensureDocker, exec, removeImage, type TestImage } from "../helpers/docker.ts";
import { startTestIssuers, type TestIssuers } from "../helpers/oidc.ts";
import { testWithServerLog } from "../helpers/server.ts";

const AUDIENCE = "https://registry.test";

function config(mode: "token" | "basic", issuers: TestIssuers): string {
  return `
[auth]
htpasswd = "auth/htpasswd"
mode = "${mode}"

[[auth.oidc_trust]]
issuer = "${issuers.issuer("github")}"
audience = "${AUDIENCE}"
claims = { repository = "org/*", ref = "refs/heads/main" }
repositories = ["org/**"]
actions = ["pull", "push"]

[[auth.oidc_trust]]
issuer = "${issuers.issuer("gitlab")}"
audience = "${AUDIENCE}"
claims = { project_path = "group/app", ref_protected = "true" }
repositories = ["group/app"]
actions = ["pull", "push"]

[[auth.oidc_trust]]
issuer = "${issuers.issuer("rotating")}"
audience = "${AUDIENCE}"
repositories = ["rotating/**"]
actions = ["*"]
`;
}

let issuers: TestIssuers | undefined;
let image: TestImage | undefined;
let tokenBerth: AuthBerth | undefined;
let basicBerth: AuthBerth | undefined;
const test = testWithServerLog(() => [tokenBerth, basicBerth]);

const now = () => Math.floor(Date.now() / 1000);

/** GitHub Actions' claims for a job of org/app on main (what its token carries, in short). */
function githubClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  return {
    iss: (issuers as TestIssuers).issuer("github"),
    aud: AUDIENCE,
    sub: "repo:org/app:ref:refs/heads/main",
    repository: "org/app",
    repository_owner: "org",
    ref: "refs/heads/main",
    iat,
    nbf: iat,
    exp: iat + 300,
    ...overrides,
  };
}

function gitlabClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  return {
    iss: (issuers as TestIssuers).issuer("gitlab"),
    aud: AUDIENCE,
    sub: "project_path:group/app:ref_type:branch:ref:main",
    project_path: "group/app",
    ref_protected: "true",
    iat,
    exp: iat + 300,
    ...overrides,
  };
}

async function startBerthFor(mode: "token" | "basic"): Promise<AuthBerth> {
  return startAuthBerth({
    config: config(mode, issuers as TestIssuers),
    prepare: async (dir) => {
      // no user in the file: CI jobs need none
      await writeHtpasswd(join(dir, "auth/htpasswd"), []);
      mkdirSync(join(dir, "docker-config"));
    },
  });
}

beforeAll(async () => {
  await ensureDocker();
  issuers = await startTestIssuers({ github: "RS256", gitlab: "ES256", rotating: "ES256", untrusted: "RS256" });
  image = await buildTestImage({ name: "auth-oidc" });
  tokenBerth = await startBerthFor("token");
  basicBerth = await startBerthFor("basic");
}, 120_000);

afterAll(async () => {
  await tokenBerth?.stop();
  await basicBerth?.stop();
  await issuers?.stop();
  if (image) await removeImage(image.id);
});

/** POST /auth/oidc with a form body. */
function exchange(idToken: string, scopes: string[], berth = tokenBerth as AuthBerth) {
  const form = new URLSearchParams({ token: idToken });
  for (const scope of scopes) form.append("scope", scope);
  return send(berth, "/auth/oidc", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() });
}

/** /auth/token with user oidc and the ID token as the password (what docker login does). */
function tokenWithPassword(idToken: string, scope: string) {
  return send(tokenBerth as AuthBerth, `/auth/token?service=berth&scope=${encodeURIComponent(scope)}`, { headers: { Authorization: basicHeader("oidc", idToken) } });
}

describe("OIDC workload identity", () => {
  test("docker login -u oidc with a GitHub-style ID token (RS256), push and pull; outside its repositories denied", async () => {
    const berth = tokenBerth as AuthBerth;
    const img = image as TestImage;
    const env = { DOCKER_CONFIG: join(berth.root, "docker-config"), DOCKER_CLI_HINTS: "false" };
    const idToken = await (issuers as TestIssuers).sign("github", githubClaims());
    const login = await exec(["docker", "login", berth.host, "--username", "oidc", "--password-stdin"], { stdin: idToken, env, allowFailure: true });
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    const run = (args: string[]) => docker(args, { env, allowFailure: true, timeoutMs: 120_000 });
    const ref = `${berth.host}/org/app:ci`;
    await run(["tag", img.id, ref]);
    const pushed = await run(["push", ref]);
    expect(pushed.exitCode).toBe(0);
    await run(["rmi", ref]);
    expect((await run(["pull", ref])).exitCode).toBe(0);
    const outside = `${berth.host}/elsewhere/app:ci`;
    await run(["tag", img.id, outside]);
    const denied = await run(["push", outside]);
    expect(denied.exitCode).not.toBe(0);
    await run(["rmi", ref]);
    await run(["rmi", outside]);
    await run(["logout", berth.host]);
  }, 240_000);

  test("POST /auth/oidc trades a GitLab-style ID token (ES256) for a registry token that pushes", async () => {
    const idToken = await (issuers as TestIssuers).sign("gitlab", gitlabClaims());
    const reply = await exchange(idToken, ["repository:group/app:pull,push,delete", "repository:group/other:pull"]);
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.text) as { token: string; expires_in: number };
    const claims = JSON.parse(Buffer.from(body.token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    expect(claims.sub).toBe("oidc:project_path:group/app:ref_type:branch:ref:main");
    // delete and the other repository are not the trust entry's to give
    expect(claims.access).toEqual([{ type: "repository", name: "group/app", actions: ["pull", "push"] }]);
    const pushed = await pushTestImage(tokenBerth as AuthBerth, "group/app", "from-gitlab", { Authorization: `Bearer ${body.token}` });
    expect(pushed.status).toBe(201);
    const elsewhere = await pushTestImage(tokenBerth as AuthBerth, "group/other", "x", { Authorization: `Bearer ${body.token}` });
    expect(elsewhere.status).toBe(403);

    const json = await send(tokenBerth as AuthBerth, "/auth/oidc", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: idToken, scope: "repository:group/app:pull" }),
    });
    expect(json.status).toBe(200);
  });

  test("basic mode: the ID token is the password of user oidc on every request", async () => {
    const idToken = await (issuers as TestIssuers).sign("github", githubClaims());
    const pushed = await pushTestImage(basicBerth as AuthBerth, "org/basic", "v1", { Authorization: basicHeader("oidc", idToken) });
    expect(pushed.status).toBe(201);
    const other = await send(basicBerth as AuthBerth, "/v2/group/app/tags/list", { headers: { Authorization: basicHeader("oidc", idToken) } });
    expect(other.status).toBe(403);
  });

  const refusals: Array<[string, () => Promise<string>]> = [
    ["wrong audience", () => (issuers as TestIssuers).sign("github", githubClaims({ aud: "https://other.registry" }))],
    ["expired", () => (issuers as TestIssuers).sign("github", githubClaims({ iat: now() - 900, nbf: now() - 900, exp: now() - 600 }))],
    ["not valid yet", () => (issuers as TestIssuers).sign("github", githubClaims({ nbf: now() + 600 }))],
    ["another issuer (untrusted, claiming a trusted iss)", () => (issuers as TestIssuers).sign("untrusted", githubClaims())],
    ["another issuer (its own iss)", () => (issuers as TestIssuers).sign("untrusted", githubClaims({ iss: (issuers as TestIssuers).issuer("untrusted") }))],
    ["claims not matching (another branch)", () => (issuers as TestIssuers).sign("github", githubClaims({ ref: "refs/heads/dev" }))],
    ["claims not matching (another organisation)", () => (issuers as TestIssuers).sign("github", githubClaims({ repository: "evil/app" }))],
    ["claims not matching (claim missing)", () => (issuers as TestIssuers).sign("gitlab", gitlabClaims({ ref_protected: undefined }))],
    ["unknown key id", () => (issuers as TestIssuers).sign("github", githubClaims(), { unpublishedKey: true })],
    ["forged signature", async () => {
      const [header, , signature] = (await (issuers as TestIssuers).sign("github", githubClaims())).split(".");
      return `${header}.${Buffer.from(JSON.stringify(githubClaims({ repository: "org/other" }))).toString("base64url")}.${signature}`;
    }],
    ["alg none", async () => {
      const [, payload] = (await (issuers as TestIssuers).sign("github", githubClaims())).split(".");
      return `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.x`;
    }],
  ];

  for (const [what, make] of refusals) {
    test(`refused: ${what} (POST /auth/oidc and as the docker login password)`, async () => {
      const idToken = await make();
      const exchanged = await exchange(idToken, ["repository:org/app:pull"]);
      expect(exchanged.status).toBe(401);
      expect(exchanged.text).toContain("OIDC token refused");
      expect((await tokenWithPassword(idToken, "repository:org/app:pull")).status).toBe(401);
    });
  }

  test("the issuer's key rotation is followed: a token with the new key id is accepted, the old key no longer", async () => {
    const trusted = issuers as TestIssuers;
    const claims = () => ({ iss: trusted.issuer("rotating"), aud: AUDIENCE, sub: "job-1", iat: now(), exp: now() + 300 });
    const before = await trusted.sign("rotating", claims());
    expect((await exchange(before, ["repository:rotating/app:push"])).status).toBe(200);
    await trusted.rotate("rotating");
    const after = await trusted.sign("rotating", claims());
    const fetchesBefore = trusted.jwksFetches("rotating");
    expect((await exchange(after, ["repository:rotating/app:push"])).status).toBe(200);
    expect(trusted.jwksFetches("rotating")).toBe(fetchesBefore + 1);
    expect((await exchange(before, ["repository:rotating/app:push"])).status).toBe(401);
  });

  test("tokens with made-up key ids do not make Berth fetch the issuer's keys each time", async () => {
    const trusted = issuers as TestIssuers;
    const claims = { iss: trusted.issuer("rotating"), aud: AUDIENCE, sub: "job-2", iat: now(), exp: now() + 300 };
    const start = trusted.jwksFetches("rotating");
    for (let i = 0; i < 10; i++) {
      const forged = await trusted.sign("rotating", claims, { header: { kid: `made-up-${i}` } });
      expect((await exchange(forged, ["repository:rotating/app:pull"])).status).toBe(401);
    }
    expect(trusted.jwksFetches("rotating") - start).toBeLessThanOrEqual(3);
  });
});
