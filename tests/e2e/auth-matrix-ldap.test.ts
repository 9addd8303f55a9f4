/**
 * The access matrix of tests/e2e/auth-matrix-accounts.test.ts for directory users, against a
 * real Berth process and the tests' own slapd (tests/helpers/ldap.ts), in basic and in token
 * mode: a user whose directory group an `[[access]]` rule names (lena, devs), a user whose
 * directory group is a namespace member (max, readers: apps' admin, then a developer), a
 * directory user with no rights (dora), anonymous, and a robot max made as apps' admin, capped
 * by what max may do now. Every cell gets the expected status, and a refused request leaves
 * the storage tree exactly as it was: zero unauthorized successes.
 *
 * A robot's cap is its creator's rights, and Berth knows a directory user (and their groups)
 * only for a while after they signed in (src/auth/ldap/source.ts). So a robot made by a
 * directory user has only anonymous rights while its creator is unknown (after a restart, or
 * `token_ttl` after their last sign-in), and its own again once the creator signs in: the
 * last test shows it.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  type AuthBerth,
  authorization,
  basicHeader,
  type Caller,
  fetchToken,
  makeTestCa,
  pushTestImage,
  send,
  cellKeepingTree,
  snapshot,
  startAuthBerth,
  type TestCa,
  writeHtpasswd,
} from "../helpers/auth.ts";
import { berthCli } from "../helpers/accounts.ts";
import { LDAP_USERS, ldapSection, startTestDirectory, type TestDirectory } from "../helpers/ldap.ts";
import { removeDir, tempDir, testWithServerLog } from "../helpers/server.ts";

const ROOT = { user: "root", password: "root-secret" };

const CONFIG = (mode: string, url: string) => `
[auth]
htpasswd = "htpasswd"
mode = "${mode}"
admins = ["root"]

${ldapSection(url)}
[[access]]
repositories = ["team/**"]
groups = ["devs"]
actions = ["pull", "push", "delete"]
`;

type Action = "pull" | "push" | "delete";
const REPOS = ["team/app", "apps/web", "open/lib", "private/vault"] as const;
type Repo = (typeof REPOS)[number];
const ACTIONS: Action[] = ["pull", "push", "delete"];
const SUCCESS: Record<Action, number> = { pull: 200, push: 201, delete: 202 };

/** What the rule (devs), the namespaces (apps: group:readers developer; open: anonymous pull) and the robot allow. */
const ALLOWED: Record<string, Partial<Record<Repo, Action[]>>> = {
  lena: { "team/app": ["pull", "push", "delete"], "open/lib": ["pull"] },
  max: { "apps/web": ["pull", "push"], "open/lib": ["pull"] },
  dora: { "open/lib": ["pull"] },
  anonymous: { "open/lib": ["pull"] },
  // max made it (apps/**: pull, push, delete) while group:readers was apps' admin; readers are developers now
  "robot$max-bot": { "apps/web": ["pull", "push"], "open/lib": ["pull"] },
};

let ca: TestCa | undefined;
let directory: TestDirectory | undefined;

beforeAll(async () => {
  ca = await makeTestCa();
  directory = await startTestDirectory(ca);
}, 60_000);

afterAll(async () => {
  await directory?.remove();
  if (ca) removeDir(ca.dir);
});

for (const mode of ["basic", "token"] as const) {
  describe(`access matrix with directory users, ${mode} mode`, () => {
    let berth: AuthBerth | undefined;
    const test = testWithServerLog(() => [berth]);
    let dir = "";
    const passwords = new Map<string, string>([["root", ROOT.password], ...Object.entries(LDAP_USERS)]);
    const caller = (name: string): Caller => ({ mode, user: name === "anonymous" ? null : { user: name, password: passwords.get(name) ?? "" } });
    const server = () => berth as AuthBerth;
    const rootHeaders = (repo: string, actions: string) => authorization(server(), caller("root"), [`repository:${repo}:${actions}`]);
    /** Signs `name` in (GET /v2/ with basic credentials, or a token): Berth then knows the directory user and their groups. */
    const signIn = async (name: string) => {
      if (mode === "token") await fetchToken(server(), [], { user: name, password: passwords.get(name) ?? "" });
      else expect((await send(server(), "/v2/", { headers: { Authorization: basicHeader(name, passwords.get(name) ?? "") } })).status).toBe(200);
    };
    const start = () => startAuthBerth({ root: dir, config: CONFIG(mode, (directory as TestDirectory).ldapsUrl) });

    beforeAll(async () => {
      dir = tempDir(`berth-matrix-ldap-${mode}-`);
      await writeHtpasswd(join(dir, "htpasswd"), [{ name: ROOT.user, password: ROOT.password, algorithm: "bcrypt" }]);
      mkdirSync(join(dir, "tls"));
      copyFileSync((ca as TestCa).caCert, join(dir, "tls/ca.crt"));
      berth = await start();
      const cli = (...args: string[]) => berthCli(dir, args);
      await cli("ns", "create", "apps");
      await cli("ns", "create", "open", "--anonymous-pull");
      // a directory group as a member: max is in readers
      await cli("ns", "member", "add", "apps", "group:readers", "admin");
      // max, apps' admin through his group, makes a robot of the namespace
      const max = mode === "token" ? await authorization(server(), caller("max"), ["namespace:apps:admin"]) : { Authorization: basicHeader("max", LDAP_USERS.max) };
      const made = await send(server(), "/api/v1/namespaces/apps/robots", {
        method: "POST",
        headers: { ...max, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "max-bot", repositories: ["apps/**"], actions: ["pull", "push", "delete"], expires: "30d" }),
      });
      expect(made.status).toBe(201);
      const robot = JSON.parse(made.text) as { secret: string; creator: string };
      expect(robot.creator).toBe("max");
      passwords.set("robot$max-bot", robot.secret);
      // not outside the namespace, nor in the global list, nor for a namespace he is no admin of
      const outside = await send(server(), "/api/v1/namespaces/apps/robots", { method: "POST", headers: { ...max, "Content-Type": "application/json" }, body: JSON.stringify({ name: "escape", repositories: ["**"], actions: ["pull"] }) });
      expect(outside.status).toBe(403);
      expect((await send(server(), "/api/v1/robots", { headers: { Authorization: basicHeader("max", LDAP_USERS.max) } })).status).toBe(403);
      expect((await send(server(), "/api/v1/namespaces/open/members", { method: "POST", headers: { Authorization: basicHeader("max", LDAP_USERS.max), "Content-Type": "application/json" }, body: JSON.stringify({ member: "max", role: "admin" }) })).status).toBe(403);
      await cli("ns", "member", "add", "apps", "group:readers", "developer");
      for (const repo of REPOS) {
        const pushed = await pushTestImage(server(), repo, "seed", await rootHeaders(repo, "pull,push"));
        expect(pushed.status).toBe(201);
      }
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
            // the robot's cap is max's rights, known while max signed in lately (the last test shows the rest)
            if (name.startsWith("robot$")) await signIn("max");
            const wanted = action === "push" ? "pull,push" : action;
            const headers = await authorization(server(), caller(name), [`repository:${repo}:${wanted}`]);
            const tag = `by-${name.replace("$", "-")}`;
            if (action === "pull") {
              await cell(expected, async () => (await send(server(), `/v2/${repo}/manifests/seed`, { headers: { ...headers, Accept: "application/vnd.oci.image.manifest.v1+json" } })).status);
              await cell(expected, async () => (await send(server(), `/v2/${repo}/tags/list`, { headers })).status);
            } else if (action === "push") {
              await cell(expected, async () => (await pushTestImage(server(), repo, tag, headers)).status);
            } else {
              const victim = await pushTestImage(server(), repo, `victim-${tag}`, await rootHeaders(repo, "pull,push"));
              expect(victim.status).toBe(201);
              const path = `/v2/${repo}/manifests/victim-${tag}`;
              await cell(expected, async () => (await send(server(), path, { method: "DELETE", headers })).status);
              const after = await send(server(), path, { method: "HEAD", headers: await rootHeaders(repo, "pull") });
              expect(after.status).toBe(allowed ? 404 : 200);
            }
          });
        }
      }
    }

    test("the catalog lists what each directory user and the robot may pull", async () => {
      await signIn("max");
      const expected: Record<string, string[]> = {
        lena: ["open/lib", "team/app"],
        max: ["apps/web", "open/lib"],
        dora: ["open/lib"],
        "robot$max-bot": ["apps/web", "open/lib"],
      };
      for (const [name, repositories] of Object.entries(expected)) {
        const reply = await send(server(), "/v2/_catalog", { headers: await authorization(server(), caller(name), ["registry:catalog:*"]) });
        expect(reply.status).toBe(200);
        expect((JSON.parse(reply.text) as { repositories: string[] }).repositories).toEqual(repositories);
      }
    });

    test("disabled directory accounts and wrong passwords cannot sign in, and change nothing", async () => {
      for (const [user, password] of [["bob", LDAP_USERS.bob], ["carol", LDAP_USERS.carol], ["lena", "wrong-pw"], ["nobody", "nobody-pw"]] as const) {
        const header = { Authorization: basicHeader(user, password) };
        const before = stored();
        if (mode === "token") expect((await send(server(), "/auth/token?service=berth&scope=repository:team/app:pull,push", { headers: header })).status).toBe(401);
        expect((await send(server(), "/v2/team/app/tags/list", { headers: header })).status).toBe(401);
        expect((await pushTestImage(server(), "team/app", "nope", header)).status).toBe(401);
        expect(stored()).toEqual(before);
      }
    });

    test("a robot made by a directory user has only anonymous rights while Berth does not know its creator", async () => {
      // a restart forgets every directory user (as token_ttl after their last sign-in does)
      await server().stop();
      berth = await start();
      const robot = caller("robot$max-bot");
      const before = stored();
      const push = await pushTestImage(server(), "apps/web", "while-max-unknown", await authorization(server(), robot, ["repository:apps/web:pull,push"]));
      expect(push.status).toBe(403);
      const pull = await send(server(), "/v2/apps/web/manifests/seed", { headers: await authorization(server(), robot, ["repository:apps/web:pull"]) });
      expect(pull.status).toBe(403);
      // what anonymous callers may do, a signed-in robot may do too
      expect((await send(server(), "/v2/open/lib/tags/list", { headers: await authorization(server(), robot, ["repository:open/lib:pull"]) })).status).toBe(200);
      expect(stored()).toEqual(before);
      // once max signs in, his robot has its rights again, within his
      await signIn("max");
      expect((await pushTestImage(server(), "apps/web", "after-max-signed-in", await authorization(server(), robot, ["repository:apps/web:pull,push"]))).status).toBe(201);
      const victim = await pushTestImage(server(), "apps/web", "robot-may-not-delete", await rootHeaders("apps/web", "pull,push"));
      expect(victim.status).toBe(201);
      const del = await send(server(), "/v2/apps/web/manifests/robot-may-not-delete", { method: "DELETE", headers: await authorization(server(), robot, ["repository:apps/web:delete"]) });
      expect(del.status).toBe(403);
    }, 60_000);
  });
}
