/**
 * The access matrix of tests/e2e/auth-matrix.test.ts, extended with namespace roles and robots,
 * against a real Berth process in basic and in token mode: identities (a user of the file's
 * rules, each role of a namespace, anonymous, robots made by the operator, by an admin and by a
 * namespace admin who was demoted since) × repositories × pull, push, delete. Every cell gets
 * the expected status, and a refused request leaves the storage tree exactly as it was: zero
 * unauthorized successes. Disabled and expired robots cannot sign in at all.
 *
 * Namespaces, members and robots are made with `berth ns` / `berth robot` while the server
 * runs (through its admin socket), and by the namespace admin through the HTTP API.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  type AuthBerth,
  authorization,
  basicHeader,
  type Caller,
  pushTestImage,
  send,
  cellKeepingTree,
  snapshot,
  startAuthBerth,
  type TestUser,
  writeHtpasswd,
} from "../helpers/auth.ts";
import { berthCli, createRobot } from "../helpers/accounts.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const USERS: TestUser[] = [
  { name: "root", password: "root-secret", algorithm: "bcrypt" },
  { name: "alice", password: "alice-secret", algorithm: "bcrypt" },
  { name: "nadia", password: "nadia-secret", algorithm: "bcrypt" },
  { name: "mark", password: "mark-secret", algorithm: "bcrypt" },
  { name: "dev", password: "dev-secret", algorithm: "bcrypt" },
  { name: "rita", password: "rita-secret", algorithm: "bcrypt" },
];

const CONFIG = (mode: string) => `
[auth]
htpasswd = "htpasswd"
mode = "${mode}"
admins = ["root"]

[[access]]
repositories = ["team/**"]
users = ["alice"]
actions = ["pull", "push", "delete"]
`;

type Action = "pull" | "push" | "delete";
const REPOS = ["team/app", "apps/web", "open/lib", "private/vault"] as const;
type Repo = (typeof REPOS)[number];
const ACTIONS: Action[] = ["pull", "push", "delete"];
const ALL: Action[] = ["pull", "push", "delete"];

/** What the rules, the namespaces (apps: nadia was admin, now reader; open: anonymous pull) and the robots allow. */
const ALLOWED: Record<string, Partial<Record<Repo, Action[]>>> = {
  alice: { "team/app": ALL, "open/lib": ["pull"] },
  nadia: { "apps/web": ["pull"], "open/lib": ["pull"] },
  mark: { "apps/web": ALL, "open/lib": ["pull"] },
  dev: { "apps/web": ["pull", "push"], "open/lib": ["pull"] },
  rita: { "apps/web": ["pull"], "open/lib": ["pull"] },
  anonymous: { "open/lib": ["pull"] },
  // berth:cli made it: its grant, no cap
  "robot$ci-push": { "apps/web": ["pull", "push"], "open/lib": ["pull"] },
  // root made it for every repository, pull only
  "robot$ci-pull": { "team/app": ["pull"], "apps/web": ["pull"], "open/lib": ["pull"], "private/vault": ["pull"] },
  // nadia made it (apps/**: pull, push, delete) as apps' admin; she is a reader now, so it may only pull
  "robot$nadia-bot": { "apps/web": ["pull"], "open/lib": ["pull"] },
};
const SUCCESS: Record<Action, number> = { pull: 200, push: 201, delete: 202 };

for (const mode of ["basic", "token"] as const) {
  describe(`access matrix with roles and robots, ${mode} mode`, () => {
    let berth: AuthBerth;
    let dir = "";
    const passwords = new Map<string, string>(USERS.map((user) => [user.name, user.password]));
    const caller = (name: string): Caller => ({ mode, user: name === "anonymous" ? null : { user: name, password: passwords.get(name) ?? "" } });
    const rootHeaders = (repo: string, actions: string) => authorization(berth, caller("root"), [`repository:${repo}:${actions}`]);

    beforeAll(async () => {
      dir = tempDir(`berth-matrix-accounts-${mode}-`);
      await writeHtpasswd(join(dir, "htpasswd"), USERS);
      berth = await startAuthBerth({ root: dir, config: CONFIG(mode) });
      const cli = (...args: string[]) => berthCli(dir, args);
      await cli("ns", "create", "apps");
      await cli("ns", "create", "open", "--anonymous-pull");
      await cli("ns", "member", "add", "apps", "nadia", "admin");
      await cli("ns", "member", "add", "apps", "mark", "maintainer");
      await cli("ns", "member", "add", "apps", "dev", "developer");
      await cli("ns", "member", "add", "apps", "rita", "reader");
      passwords.set("robot$ci-push", await createRobot(dir, "ci-push", ["--repositories", "apps/**", "--actions", "pull,push", "--expires", "90d"]));
      // root (an admin) makes one over HTTP
      const byRoot = await send(berth, "/api/v1/robots", {
        method: "POST",
        headers: { Authorization: basicHeader("root", "root-secret"), "Content-Type": "application/json" },
        body: JSON.stringify({ name: "ci-pull", repositories: ["**"], actions: ["pull"] }),
      });
      expect(byRoot.status).toBe(201);
      passwords.set("robot$ci-pull", (JSON.parse(byRoot.text) as { secret: string }).secret);
      // nadia, apps' admin, makes one in her namespace (a token needs namespace:apps:admin in token mode)
      const nadia = mode === "token" ? await authorization(berth, caller("nadia"), ["namespace:apps:admin"]) : { Authorization: basicHeader("nadia", "nadia-secret") };
      const byNadia = await send(berth, "/api/v1/namespaces/apps/robots", {
        method: "POST",
        headers: { ...nadia, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "nadia-bot", repositories: ["apps/**"], actions: ["pull", "push", "delete"], expires: "30d" }),
      });
      expect(byNadia.status).toBe(201);
      passwords.set("robot$nadia-bot", (JSON.parse(byNadia.text) as { secret: string }).secret);
      // but not outside it, nor in the global list
      const outside = await send(berth, "/api/v1/namespaces/apps/robots", { method: "POST", headers: { ...nadia, "Content-Type": "application/json" }, body: JSON.stringify({ name: "escape", repositories: ["**"], actions: ["pull"] }) });
      expect(outside.status).toBe(403);
      expect((await send(berth, "/api/v1/robots", { headers: { Authorization: basicHeader("nadia", "nadia-secret") } })).status).toBe(403);
      await cli("ns", "member", "add", "apps", "nadia", "reader");
      passwords.set("robot$off", await createRobot(dir, "off", ["--repositories", "**", "--actions", "pull,push,delete"]));
      await cli("robot", "disable", "off");
      passwords.set("robot$old", await createRobot(dir, "old", ["--repositories", "**", "--actions", "pull,push,delete", "--expires", "1s"]));
      for (const repo of REPOS) {
        const pushed = await pushTestImage(berth, repo, "seed", await rootHeaders(repo, "pull,push"));
        expect(pushed.status).toBe(201);
      }
      await Bun.sleep(1100); // robot$old has expired
    }, 120_000);

    afterAll(async () => {
      await berth?.stop();
      if (dir) removeDir(dir);
    });

    const stored = () => snapshot(join(dir, "data", "docker"));
    const cell = cellKeepingTree(() => join(dir, "data", "docker"));

    for (const name of Object.keys(ALLOWED)) {
      for (const repo of REPOS) {
        for (const action of ACTIONS) {
          const allowed = (ALLOWED[name]?.[repo] ?? []).includes(action);
          const expected = allowed ? SUCCESS[action] : name === "anonymous" ? 401 : 403;
          test(`${name} ${action} ${repo} -> ${expected}`, async () => {
            const wanted = action === "push" ? "pull,push" : action;
            const headers = await authorization(berth, caller(name), [`repository:${repo}:${wanted}`]);
            if (action === "pull") {
              await cell(expected, async () => (await send(berth, `/v2/${repo}/manifests/seed`, { headers: { ...headers, Accept: "application/vnd.oci.image.manifest.v1+json" } })).status);
              await cell(allowed ? 200 : expected, async () => (await send(berth, `/v2/${repo}/tags/list`, { headers })).status);
            } else if (action === "push") {
              await cell(expected, async () => (await pushTestImage(berth, repo, `by-${name.replace("$", "-")}`, headers)).status);
            } else {
              const victim = await pushTestImage(berth, repo, `victim-${name.replace("$", "-")}`, await rootHeaders(repo, "pull,push"));
              expect(victim.status).toBe(201);
              // a tag delete (what maintainers may do); the matrix of the file rules deletes by digest
              const tag = `/v2/${repo}/manifests/victim-${name.replace("$", "-")}`;
              await cell(expected, async () => (await send(berth, tag, { method: "DELETE", headers })).status);
              const after = await send(berth, tag, { method: "HEAD", headers: await rootHeaders(repo, "pull") });
              expect(after.status).toBe(allowed ? 404 : 200);
            }
          });
        }
      }
    }

    test("disabled and expired robots cannot sign in, nor use a wrong or empty secret", async () => {
      for (const [user, password] of [["robot$off", passwords.get("robot$off")], ["robot$old", passwords.get("robot$old")], ["robot$ci-push", "berth_wrong"], ["robot$nobody", ""]]) {
        const header = { Authorization: basicHeader(user ?? "", password ?? "") };
        const before = stored();
        if (mode === "token") expect((await send(berth, "/auth/token?service=berth&scope=repository:apps/web:pull,push", { headers: header })).status).toBe(401);
        expect((await send(berth, "/v2/apps/web/tags/list", { headers: header })).status).toBe(401);
        expect((await pushTestImage(berth, "apps/web", "nope", header)).status).toBe(401);
        expect(stored()).toEqual(before);
      }
    });

    test("the catalog lists what each robot and member may pull", async () => {
      const expected: Record<string, string[]> = {
        "robot$ci-pull": ["apps/web", "open/lib", "private/vault", "team/app"],
        "robot$ci-push": ["apps/web", "open/lib"],
        rita: ["apps/web", "open/lib"],
        anonymous: ["open/lib"],
      };
      for (const [name, repositories] of Object.entries(expected)) {
        const reply = await send(berth, "/v2/_catalog", { headers: await authorization(berth, caller(name), ["registry:catalog:*"]) });
        expect(reply.status).toBe(200);
        expect((JSON.parse(reply.text) as { repositories: string[] }).repositories).toEqual(repositories);
      }
    });

    test("robots and namespace members other than admins cannot use the admin API", async () => {
      for (const name of ["robot$ci-pull", "robot$ci-push", "mark", "rita", "alice"]) {
        const headers = { Authorization: basicHeader(name, passwords.get(name) ?? "") };
        expect((await send(berth, "/api/v1/robots", { headers })).status).toBe(403);
        expect((await send(berth, "/api/v1/namespaces/apps/members", { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify({ member: name, role: "admin" }) })).status).toBe(403);
      }
      expect((await send(berth, "/api/v1/robots")).status).toBe(401);
    });
  });
}
