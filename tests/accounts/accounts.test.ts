/**
 * Robots and namespaces in the metadata index, on SQLite and on PostgreSQL: create, rotate with
 * and without grace, disable, delete, namespaces and members; the snapshot sees each change at
 * once; expiry notices come once a day; bad input is refused with AccountsError.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Accounts } from "../../src/accounts/accounts.ts";
import { AccountsError, globWithinNamespace, namespaceMatcher } from "../../src/accounts/model.ts";
import { hashSecret, secretMatches } from "../../src/accounts/secrets.ts";
import type { Logger } from "../../src/log.ts";
import { type DatabaseLocation, MetadataDatabase } from "../../src/metadata/database.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
const databases: TestDatabase[] = [];
const opened: MetadataDatabase[] = [];
afterAll(async () => {
  for (const database of opened) await database.close();
  for (const database of databases) await database.drop();
  for (const dir of dirs) removeDir(dir);
});

const quiet: Logger = () => {};

/** What `work` rejects with (expect().rejects waited forever here on a SQLite write under bun test). */
async function failure(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => new Error("expected a rejection"),
    (error: unknown) => error,
  );
}
const DAY = 86_400_000;

async function open(backend: string, now: () => number): Promise<Accounts> {
  let location: DatabaseLocation;
  if (backend === "postgres") {
    const database = await createTestDatabase("berth_accounts");
    databases.push(database);
    location = { url: database.url, root: "", inMemory: false };
  } else {
    const root = tempDir("berth-accounts-");
    dirs.push(root);
    location = { url: "", root, inMemory: false };
  }
  const database = await MetadataDatabase.open(location);
  opened.push(database);
  // a long snapshot age: only the writes' invalidation can make a change visible
  return new Accounts(database, quiet, { now, maxAgeMs: 3_600_000 });
}

const robot = (name: string, more: Partial<Parameters<Accounts["createRobot"]>[0]> = {}) => ({
  name,
  repositories: ["team/**"],
  actions: ["pull", "push"],
  expiresInMs: 90 * DAY,
  description: "",
  namespace: null,
  ...more,
});

for (const backend of metadataBackends()) {
  describe(`accounts on ${backend}`, () => {
    test("a robot is stored with its secret's hash only, and each change is seen at once", async () => {
      let now = 1_000_000;
      const accounts = await open(backend, () => now);
      expect((await accounts.fresh()).isEmpty).toBe(true);
      const { robot: made, secret } = await accounts.createRobot(robot("ci"), "root");
      expect(secret).toMatch(/^berth_[A-Za-z0-9_-]{43}$/);
      const stored = (await accounts.fresh()).robot("ci");
      expect(stored?.secretHash).toBe(hashSecret(secret));
      expect(JSON.stringify(await accounts.listRobots())).not.toContain(secret);
      expect(stored).toMatchObject({ repositories: ["team/**"], actions: ["pull", "push"], creator: "root", expiresAt: made.createdAt + 90 * DAY, disabled: false });

      await accounts.setRobotDisabled("ci", true);
      expect((await accounts.fresh()).robot("ci")?.disabled).toBe(true);
      await accounts.setRobotDisabled("ci", false);

      now += 1000;
      const rotated = await accounts.rotateRobot("ci", 3_600_000);
      const after = (await accounts.fresh()).robot("ci");
      expect(secretMatches(rotated.secret, after?.secretHash ?? "")).toBe(true);
      expect(secretMatches(secret, after?.previousHash ?? "")).toBe(true);
      expect(after?.previousUntil).toBe(now + 3_600_000);
      // without grace the old secret is gone
      await accounts.rotateRobot("ci", 0);
      expect((await accounts.fresh()).robot("ci")?.previousHash).toBeNull();

      accounts.recordRobotUse("ci", "192.0.2.7");
      for (let i = 0; i < 50 && (await accounts.listRobots())[0]?.lastUsedAt === null; i++) await Bun.sleep(20);
      expect((await accounts.listRobots())[0]).toMatchObject({ lastUsedAt: now, lastUsedAddr: "192.0.2.7" });

      await accounts.deleteRobot("ci");
      expect((await accounts.fresh()).robot("ci")).toBeUndefined();
      expect(await failure(accounts.deleteRobot("ci"))).toBeInstanceOf(AccountsError);
    });

    test("bad robots are refused with a message naming the problem", async () => {
      const accounts = await open(backend, Date.now);
      const refused = async (request: ReturnType<typeof robot>, message: RegExp) => {
        const error: unknown = await accounts.createRobot(request, "root").catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(AccountsError);
        expect(String(error)).toMatch(message);
      };
      await refused(robot("Bad Name"), /Invalid robot name/);
      await refused(robot("ok", { repositories: [] }), /at least one repository/);
      await refused(robot("ok", { repositories: ["/abs"] }), /Invalid repository glob/);
      await refused(robot("ok", { actions: ["fly"] }), /Unknown action "fly"/);
      await refused(robot("ok", { expiresInMs: 0 }), /future/);
      await refused(robot("ok", { namespace: "nowhere" }), /No namespace/);
      await accounts.createRobot(robot("ok"), "root");
      await refused(robot("ok"), /exists/);
      await accounts.createNamespace("team", false);
      await refused(robot("inside", { namespace: "team", repositories: ["other/**"] }), /not inside namespace "team"/);
      expect((await accounts.createRobot(robot("inside", { namespace: "team", repositories: ["team/app"] }), "alice")).robot.namespace).toBe("team");
    });

    test("namespaces, members and the anonymous switch", async () => {
      const accounts = await open(backend, Date.now);
      await accounts.createNamespace("team", false);
      await accounts.createNamespace("*/base", true);
      expect(String(await failure(accounts.createNamespace("team", false)))).toMatch(/exists/);
      expect(String(await failure(accounts.createNamespace("Team Space", false)))).toMatch(/Invalid namespace/);
      await accounts.putMember("team", "alice", "developer");
      await accounts.putMember("team", "group:ops", "reader");
      await accounts.putMember("team", "alice", "maintainer"); // a new role replaces the old one
      expect(String(await failure(accounts.putMember("nowhere", "alice", "reader")))).toMatch(/No namespace/);
      expect(String(await failure(accounts.putMember("team", "robot$ci", "reader")))).toMatch(/robots cannot be members/);
      let snapshot = await accounts.fresh();
      expect(snapshot.namespace("team")?.members.map((m) => [m.member, m.role])).toEqual([["alice", "maintainer"], ["group:ops", "reader"]]);
      expect([...snapshot.roleGrant(["alice"], "team/app")].sort()).toEqual(["delete", "pull", "push"]);
      expect([...snapshot.roleGrant(["bob", "group:ops"], "team/app")]).toEqual(["pull"]);
      expect([...snapshot.roleGrant([], "library/base")]).toEqual(["pull"]);
      expect(snapshot.anonymousPull).toBe(true);
      await accounts.setAnonymousPull("*/base", false);
      await accounts.removeMember("team", "alice");
      snapshot = await accounts.fresh();
      expect(snapshot.anonymousPull).toBe(false);
      expect([...snapshot.roleGrant(["alice"], "team/app")]).toEqual([]);
      await accounts.deleteNamespace("team");
      expect((await accounts.fresh()).namespace("team")).toBeUndefined();
    });

    test("robots expiring within 7 days are announced once a day", async () => {
      let now = 10 * DAY;
      const accounts = await open(backend, () => now);
      await accounts.createRobot(robot("soon", { expiresInMs: 3 * DAY }), "root");
      await accounts.createRobot(robot("later", { expiresInMs: 30 * DAY }), "root");
      await accounts.createRobot(robot("never", { expiresInMs: null }), "root");
      expect((await accounts.takeExpiring()).map((r) => r.name)).toEqual(["soon"]);
      now += 3_600_000;
      expect(await accounts.takeExpiring()).toEqual([]);
      now += DAY;
      expect((await accounts.takeExpiring()).map((r) => r.name)).toEqual(["soon"]);
      now += 3 * DAY; // expired: no longer announced
      expect(await accounts.takeExpiring()).toEqual([]);
    });
  });
}

describe("namespace matching", () => {
  test.each([
    ["team", "team/app", true],
    ["team", "team", true],
    ["team", "teams/app", false],
    ["*/base", "library/base", true],
    ["*/base", "a/b/base", false],
    ["legacy/**", "legacy/x/y", true],
  ])("namespace %s contains %s: %p", (namespace, repository, expected) => {
    expect(namespaceMatcher(namespace)(repository)).toBe(expected);
  });

  test.each([
    ["team/**", "team", true],
    ["team/app", "team", true],
    ["teamx/**", "team", false],
    ["**", "team", false],
    ["legacy/app/*", "legacy/**", true],
    ["other/**", "legacy/**", false],
    ["*/base", "*/base", true],
    ["x/base", "*/base", false],
  ])("robot glob %s lies inside namespace %s: %p", (glob, namespace, expected) => {
    expect(globWithinNamespace(glob, namespace)).toBe(expected);
  });
});
