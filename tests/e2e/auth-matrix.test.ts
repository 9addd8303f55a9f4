/**
 * The access matrix against a real Berth process, in basic and in token mode: three users (an
 * admin, a team member, a read-only user) and anonymous × three repositories × pull, push,
 * delete. Every cell gets the expected status, and a refused request leaves the storage tree
 * exactly as it was. Also: the catalog lists only what the caller may pull, and a token for
 * one repository does not open another.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  type AuthBerth,
  authorization,
  type Caller,
  fetchToken,
  pushTestImage,
  send,
  cellKeepingTree,
  snapshot,
  startAuthBerth,
  type TestUser,
  writeHtpasswd,
} from "../helpers/auth.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const USERS: TestUser[] = [
  { name: "root", password: "root-secret", algorithm: "bcrypt" },
  { name: "alice", password: "alice-secret" },
  { name: "carol", password: "carol-secret", algorithm: "bcrypt" },
];

const CONFIG = (mode: string) => `
[auth]
htpasswd = "htpasswd"
mode = "${mode}"
admins = ["root"]

[auth.groups]
devs = ["alice"]

[[access]]
repositories = ["team/**"]
groups = ["devs"]
actions = ["pull", "push", "delete"]

[[access]]
repositories = ["**"]
users = ["carol"]
actions = ["pull"]

[[access]]
repositories = ["public/**"]
anonymous = true
actions = ["pull"]
`;

type Action = "pull" | "push" | "delete";
const REPOS = ["team/app", "public/base", "private/vault"] as const;
const ACTIONS: Action[] = ["pull", "push", "delete"];
const CALLERS = ["root", "alice", "carol", "anonymous"] as const;
type CallerName = (typeof CALLERS)[number];

/** What the configuration above allows. */
const ALLOWED: Record<CallerName, Record<(typeof REPOS)[number], Action[]>> = {
  root: { "team/app": ["pull", "push", "delete"], "public/base": ["pull", "push", "delete"], "private/vault": ["pull", "push", "delete"] },
  alice: { "team/app": ["pull", "push", "delete"], "public/base": ["pull"], "private/vault": [] },
  carol: { "team/app": ["pull"], "public/base": ["pull"], "private/vault": ["pull"] },
  anonymous: { "team/app": [], "public/base": ["pull"], "private/vault": [] },
};
const SUCCESS: Record<Action, number> = { pull: 200, push: 201, delete: 202 };

function callerOf(mode: "basic" | "token", name: CallerName): Caller {
  const user = USERS.find((u) => u.name === name);
  return { mode, user: user ? { user: user.name, password: user.password } : null };
}

for (const mode of ["basic", "token"] as const) {
  describe(`access matrix, ${mode} mode`, () => {
    let berth: AuthBerth;
    let dir = "";
    const seeds = new Map<string, string>();

    beforeAll(async () => {
      dir = tempDir(`berth-matrix-${mode}-`);
      await writeHtpasswd(join(dir, "htpasswd"), USERS);
      berth = await startAuthBerth({ root: dir, config: CONFIG(mode) });
      for (const repo of REPOS) {
        const root = callerOf(mode, "root");
        const headers = await authorization(berth, root, [`repository:${repo}:pull,push`]);
        const pushed = await pushTestImage(berth, repo, "seed", headers);
        expect(pushed.status).toBe(201);
        seeds.set(repo, pushed.image.digest);
      }
    }, 60_000);

    afterAll(async () => {
      await berth?.stop();
      if (dir) removeDir(dir);
    });

    const stored = () => snapshot(join(dir, "data", "docker"));
    const cell = cellKeepingTree(() => join(dir, "data", "docker"));

    for (const name of CALLERS) {
      for (const repo of REPOS) {
        for (const action of ACTIONS) {
          const allowed = ALLOWED[name][repo].includes(action);
          const expected = allowed ? SUCCESS[action] : name === "anonymous" ? 401 : 403;
          test(`${name} ${action} ${repo} -> ${expected}`, async () => {
            const caller = callerOf(mode, name);
            const wanted = action === "push" ? "pull,push" : action;
            if (action === "pull") {
              const headers = await authorization(berth, caller, [`repository:${repo}:${wanted}`]);
              await cell(expected, async () => (await send(berth, `/v2/${repo}/manifests/seed`, { headers: { ...headers, Accept: "application/vnd.oci.image.manifest.v1+json" } })).status);
              await cell(allowed ? 200 : expected, async () => (await send(berth, `/v2/${repo}/tags/list`, { headers })).status);
              await cell(allowed ? 200 : expected, async () => (await send(berth, `/v2/${repo}/manifests/${seeds.get(repo)}`, { method: "HEAD", headers })).status);
            } else if (action === "push") {
              const headers = await authorization(berth, caller, [`repository:${repo}:${wanted}`]);
              await cell(expected, async () => (await pushTestImage(berth, repo, `by-${name}`, headers)).status);
              if (!allowed) {
                // a manifest put on its own is refused too, and stores nothing
                const seed = await send(berth, `/v2/${repo}/manifests/seed`, { headers: await authorization(berth, callerOf(mode, "root"), [`repository:${repo}:pull`]) });
                await cell(expected, async () =>
                  (await send(berth, `/v2/${repo}/manifests/stolen`, { method: "PUT", headers: { ...headers, "Content-Type": "application/vnd.oci.image.manifest.v1+json" }, body: seed.text })).status,
                );
              }
            } else {
              const root = callerOf(mode, "root");
              const victim = await pushTestImage(berth, repo, `victim-${name}`, await authorization(berth, root, [`repository:${repo}:pull,push`]));
              expect(victim.status).toBe(201);
              const headers = await authorization(berth, caller, [`repository:${repo}:${wanted}`]);
              await cell(expected, async () => (await send(berth, `/v2/${repo}/manifests/${victim.image.digest}`, { method: "DELETE", headers })).status);
              const after = await send(berth, `/v2/${repo}/manifests/${victim.image.digest}`, { method: "HEAD", headers: await authorization(berth, root, [`repository:${repo}:pull`]) });
              expect(after.status).toBe(allowed ? 404 : 200);
            }
          });
        }
      }
    }

    test("a refused request says the same for a repository that exists and one that does not", async () => {
      const caller = callerOf(mode, "alice");
      const headers = await authorization(berth, caller, ["repository:private/vault:pull", "repository:private/nothing-here:pull"]);
      const existing = await send(berth, "/v2/private/vault/manifests/seed", { headers });
      const missing = await send(berth, "/v2/private/nothing-here/manifests/seed", { headers });
      expect(existing.status).toBe(403);
      expect(missing.status).toBe(403);
      expect(existing.text).toBe(missing.text);
      const anonymous = await send(berth, "/v2/private/vault/tags/list");
      const anonymousMissing = await send(berth, "/v2/private/nothing-here/tags/list");
      expect(anonymous.status).toBe(401);
      // the detail names the repository that was asked for; otherwise the answers are the same
      expect(anonymous.text.replace("private/vault", "NAME")).toBe(anonymousMissing.text.replace("private/nothing-here", "NAME"));
      expect(anonymous.headers.get("www-authenticate")?.replace("private/vault", "NAME")).toBe(anonymousMissing.headers.get("www-authenticate")?.replace("private/nothing-here", "NAME"));
    });

    test("the catalog lists only the repositories the caller may pull", async () => {
      const expected: Record<CallerName, string[]> = {
        root: ["private/vault", "public/base", "team/app"],
        alice: ["public/base", "team/app"],
        carol: ["private/vault", "public/base", "team/app"],
        anonymous: ["public/base"],
      };
      for (const name of CALLERS) {
        const headers = await authorization(berth, callerOf(mode, name), ["registry:catalog:*"]);
        const reply = await send(berth, "/v2/_catalog", { headers });
        expect(reply.status).toBe(200);
        expect((JSON.parse(reply.text) as { repositories: string[] }).repositories).toEqual(expected[name]);
      }
      // paging walks the filtered list
      const headers = await authorization(berth, callerOf(mode, "alice"), ["registry:catalog:*"]);
      const first = await send(berth, "/v2/_catalog?n=1", { headers });
      expect(JSON.parse(first.text)).toEqual({ repositories: ["public/base"] });
      expect(first.headers.get("link")).toContain("last=public%2Fbase");
      const second = await send(berth, "/v2/_catalog?n=1&last=public%2Fbase", { headers });
      expect(JSON.parse(second.text)).toEqual({ repositories: ["team/app"] });
    });

    test("/v2/ answers 401 with the challenge to anonymous and 200 to every user", async () => {
      const anonymous = await send(berth, "/v2/");
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      const challenge = anonymous.headers.get("www-authenticate") ?? "";
      if (mode === "basic") expect(challenge).toBe('Basic realm="Berth registry"');
      else expect(challenge).toBe(`Bearer realm="${berth.url}/auth/token",service="berth"`);
      for (const user of USERS) {
        const headers = await authorization(berth, callerOf(mode, user.name as CallerName), []);
        expect((await send(berth, "/v2/", { headers })).status).toBe(200);
      }
    });

    test("an anonymous push is challenged with the repository's scope", async () => {
      const reply = await send(berth, "/v2/team/app/blobs/uploads/", { method: "POST" });
      expect(reply.status).toBe(401);
      const body = JSON.parse(reply.text) as { errors: { code: string }[] };
      expect(body.errors[0]?.code).toBe("UNAUTHORIZED");
      if (mode === "token") {
        expect(reply.headers.get("www-authenticate")).toBe(`Bearer realm="${berth.url}/auth/token",service="berth",scope="repository:team/app:pull,push"`);
      }
    });

    if (mode === "token") {
      test("a token issued for repository A is refused on repository B", async () => {
        const alice = { user: "alice", password: "alice-secret" };
        const { token, claims } = await fetchToken(berth, ["repository:team/app:pull"], alice);
        expect(claims.access).toEqual([{ type: "repository", name: "team/app", actions: ["pull"] }]);
        const headers = { Authorization: `Bearer ${token}` };
        expect((await send(berth, "/v2/team/app/manifests/seed", { headers })).status).toBe(200);
        // B that alice may read, but the token does not name: 401 insufficient_scope (fetch another token)
        const other = await send(berth, "/v2/public/base/manifests/seed", { headers });
        expect(other.status).toBe(401);
        expect(other.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
        // B that alice may not read: 403
        expect((await send(berth, "/v2/private/vault/manifests/seed", { headers })).status).toBe(403);
        // and a pull token does not push to A either
        const before = stored();
        expect((await send(berth, "/v2/team/app/blobs/uploads/", { method: "POST", headers })).status).toBe(401);
        expect(stored()).toEqual(before);
      });

      test("the token service grants the intersection of what was asked and what the rules allow", async () => {
        const carol = { user: "carol", password: "carol-secret" };
        const { claims } = await fetchToken(berth, ["repository:team/app:pull,push,delete", "repository:private/vault:*", "registry:catalog:*"], carol);
        expect(claims.sub).toBe("carol");
        expect(claims.aud).toBe("berth");
        expect(claims.iss).toBe("berth");
        expect(claims.access).toEqual([
          { type: "repository", name: "team/app", actions: ["pull"] },
          { type: "repository", name: "private/vault", actions: ["pull"] },
          { type: "registry", name: "catalog", actions: ["*"] },
        ]);
        const anonymous = await fetchToken(berth, ["repository:public/base:pull,push", "repository:team/app:pull"]);
        expect(anonymous.claims.sub).toBe("");
        expect(anonymous.claims.access).toEqual([{ type: "repository", name: "public/base", actions: ["pull"] }]);
      });

      test("a tampered or foreign token is refused with invalid_token", async () => {
        const { token } = await fetchToken(berth, ["repository:team/app:pull,push"], { user: "alice", password: "alice-secret" });
        const [header, payload, signature] = token.split(".") as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
        const forged = Buffer.from(JSON.stringify({ ...claims, access: [{ type: "repository", name: "private/vault", actions: ["pull"] }] })).toString("base64url");
        for (const bad of [`${header}.${forged}.${signature}`, `${header}.${payload}.${signature.slice(0, -4)}AAAA`, "not-a-token"]) {
          const reply = await send(berth, "/v2/private/vault/manifests/seed", { headers: { Authorization: `Bearer ${bad}` } });
          expect(reply.status).toBe(401);
          expect(reply.headers.get("www-authenticate")).toContain('error="invalid_token"');
        }
      });
    }
  });
}
