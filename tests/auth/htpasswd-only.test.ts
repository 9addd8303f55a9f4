/**
 * A users file and no [[access]] rule (and no admins) behaves as registry:2's htpasswd auth:
 * every signed-in user may pull, push and delete everywhere, anonymous callers nothing. Both
 * login modes on a real process; the start-up line says which access model is active.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type AuthBerth,
  authorization,
  basicHeader,
  type Caller,
  pushTestImage,
  send,
  startAuthBerth,
  writeHtpasswd,
} from "../helpers/auth.ts";
import { withServerLog } from "../helpers/server.ts";

const USERS = [
  { name: "alice", password: "alice-pw", algorithm: "bcrypt" as const },
  { name: "bob", password: "bob-pw", algorithm: "bcrypt" as const },
];
const alice = { user: "alice", password: "alice-pw" };
const bob = { user: "bob", password: "bob-pw" };

function start(config: string): Promise<AuthBerth> {
  return startAuthBerth({ config, prepare: (root) => writeHtpasswd(join(root, "htpasswd"), USERS) });
}

for (const mode of ["token", "basic"] as const) {
  describe(`htpasswd only, ${mode} mode`, () => {
    let berth: AuthBerth | undefined;
    const b = () => berth as AuthBerth;
    const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 60_000);
    const as = (user: Caller["user"], scopes: string[]) => authorization(b(), { mode, user }, scopes);

    beforeAll(async () => {
      berth = await start(`[auth]\nhtpasswd = "htpasswd"\nmode = "${mode}"\n`);
    }, 30_000);
    afterAll(async () => {
      await berth?.stop();
    });

    logged("start-up says every signed-in user may pull, push and delete", async () => {
      expect(b().output()).toContain('access="htpasswd-only (every signed-in user may pull, push, delete)"');
    });

    logged("any signed-in user pushes anywhere, another pulls, lists and deletes it", async () => {
      for (const repo of ["app", "team/deep/nested"]) {
        const pushed = await pushTestImage(b(), repo, "v1", await as(alice, [`repository:${repo}:pull,push`]));
        expect(pushed.status).toBe(201);
        const pull = await as(bob, [`repository:${repo}:pull`]);
        const got = await send(b(), `/v2/${repo}/manifests/v1`, { headers: { ...pull, Accept: "application/vnd.oci.image.manifest.v1+json" } });
        expect(got.status).toBe(200);
        expect(got.text).toBe(pushed.image.manifest);
        const tags = await send(b(), `/v2/${repo}/tags/list`, { headers: pull });
        expect(JSON.parse(tags.text)).toEqual({ name: repo, tags: ["v1"] });
        const remove = await as(bob, [`repository:${repo}:delete`]);
        expect((await send(b(), `/v2/${repo}/manifests/${pushed.image.digest}`, { method: "DELETE", headers: remove })).status).toBe(202);
      }
      const catalog = await send(b(), "/v2/_catalog", { headers: await as(bob, ["registry:catalog:*"]) });
      expect(catalog.status).toBe(200);
      expect((JSON.parse(catalog.text) as { repositories: string[] }).repositories).toEqual(["app", "team/deep/nested"]);
    });

    logged("anonymous callers get 401 for pull, push and the catalog, and store nothing", async () => {
      const anonymous = await as(null, ["repository:app:pull,push"]);
      expect((await send(b(), "/v2/app/tags/list", { headers: anonymous })).status).toBe(401);
      expect((await send(b(), "/v2/app/blobs/uploads/", { method: "POST", headers: anonymous })).status).toBe(401);
      expect((await send(b(), "/v2/_catalog", { headers: anonymous })).status).toBe(401);
      expect((await send(b(), "/v2/", {})).status).toBe(401);
      expect((await pushTestImage(b(), "anon", "v1", anonymous)).status).toBe(401);
      expect(existsSync(join(b().root, "data/docker/registry/v2/repositories/anon"))).toBe(false);
    });

    logged("a wrong password is still refused", async () => {
      const reply = await send(b(), "/v2/app/tags/list", { headers: { Authorization: basicHeader("alice", "wrong") } });
      expect(reply.status).toBe(401);
    });

    logged("admin routes under /api/ stay closed (no admins)", async () => {
      expect((await send(b(), "/api/anything", { headers: { Authorization: basicHeader("alice", "alice-pw") } })).status).toBe(403);
    });
  });
}

describe("with rules, the rules decide", () => {
  test("start-up names the rules model; a user no rule names is refused", async () => {
    const berth = await start('[auth]\nhtpasswd = "htpasswd"\nmode = "basic"\n\n[[access]]\nrepositories = ["team/**"]\nusers = ["alice"]\nactions = ["*"]\n');
    try {
      expect(berth.output()).toContain('access="rules (1 rule, 0 admins)"');
      const headers = { Authorization: basicHeader("bob", "bob-pw") };
      expect((await pushTestImage(berth, "team/app", "v1", headers)).status).toBe(403);
      expect((await pushTestImage(berth, "team/app", "v1", { Authorization: basicHeader("alice", "alice-pw") })).status).toBe(201);
    } finally {
      await berth.stop();
    }
  }, 60_000);
});
