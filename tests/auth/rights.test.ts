/**
 * Rights from every source together (src/auth/rights.ts): the file's rules or a namespace role,
 * the anonymous switch, and robots capped by what their creator may do now; and why a denial
 * denies (the audit line's reason).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Accounts } from "../../src/accounts/accounts.ts";
import { CLI_CREATOR } from "../../src/accounts/model.ts";
import { type AccessRule, Policy } from "../../src/auth/policy.ts";
import { AccountRights } from "../../src/auth/rights.ts";
import { MetadataDatabase } from "../../src/metadata/database.ts";

const databases: MetadataDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.close();
});

const rule = (partial: Partial<AccessRule> & Pick<AccessRule, "repositories" | "actions">): AccessRule => ({ users: [], groups: [], anonymous: false, ...partial });

async function setUp(options: { rules?: boolean; users?: string[] } = {}) {
  const database = await MetadataDatabase.open({ url: "", root: "", inMemory: true });
  databases.push(database);
  let now = Date.now();
  const accounts = new Accounts(database, () => {}, { now: () => now });
  const policy = new Policy({
    admins: options.rules === false ? [] : ["root"],
    groups: { ops: ["olga"] },
    access: options.rules === false ? [] : [rule({ repositories: ["public/**"], anonymous: true, actions: ["pull"] }), rule({ repositories: ["tools/**"], users: ["dave"], actions: ["pull"] })],
  });
  const users = new Set(options.users ?? ["root", "ann", "mia", "dave", "rita", "olga"]);
  const rights = new AccountRights(policy, accounts, (user) => (user === "olga" ? ["ops"] : []), (user) => users.has(user), () => now);
  const sorted = (caller: string | null, repository: string) => [...rights.allowed(caller, repository)].sort();
  return { accounts, rights, sorted, users, advance: (ms: number) => (now += ms) };
}

const robot = (name: string, actions: string[], repositories = ["team/**"], expiresInMs: number | null = null) => ({
  name,
  repositories,
  actions,
  expiresInMs,
  description: "",
  namespace: null,
});

describe("namespace roles", () => {
  test("each role gives its actions on every repository of the namespace, and nothing outside", async () => {
    const { accounts, sorted } = await setUp();
    await accounts.createNamespace("team", false);
    await accounts.putMember("team", "ann", "admin");
    await accounts.putMember("team", "mia", "maintainer");
    await accounts.putMember("team", "dave", "developer");
    await accounts.putMember("team", "rita", "reader");
    await accounts.putMember("team", "group:ops", "developer");
    await accounts.fresh();
    expect(sorted("ann", "team/app")).toEqual(["delete", "pull", "push"]);
    expect(sorted("mia", "team/a/b")).toEqual(["delete", "pull", "push"]);
    expect(sorted("dave", "team/app")).toEqual(["pull", "push"]);
    expect(sorted("rita", "team/app")).toEqual(["pull"]);
    expect(sorted("olga", "team/app")).toEqual(["pull", "push"]);
    expect(sorted("ann", "teams/app")).toEqual([]);
    expect(sorted(null, "team/app")).toEqual([]);
    // the file's rules still apply beside the roles
    expect(sorted("dave", "tools/x")).toEqual(["pull"]);
    expect(sorted(null, "public/base")).toEqual(["pull"]);
  });

  test("anonymous pull is a switch per namespace", async () => {
    const { accounts, sorted, rights } = await setUp();
    await accounts.createNamespace("*/base", false);
    await accounts.fresh();
    expect(sorted(null, "library/base")).toEqual([]);
    await accounts.setAnonymousPull("*/base", true);
    await accounts.fresh();
    expect(sorted(null, "library/base")).toEqual(["pull"]);
    expect(sorted("rita", "library/base")).toEqual(["pull"]);
    expect(sorted(null, "library/other")).toEqual([]);
    expect(rights.anonymousHasAccess()).toBe(true);
  });

  test("admins of the file and a namespace's admin members administer it; others and robots do not", async () => {
    const { accounts, rights } = await setUp();
    await accounts.createNamespace("team", false);
    await accounts.putMember("team", "ann", "admin");
    await accounts.putMember("team", "mia", "maintainer");
    await accounts.fresh();
    expect(rights.administers("root", "team")).toBe(true);
    expect(rights.administers("ann", "team")).toBe(true);
    expect(rights.administers("ann", "other")).toBe(false);
    expect(rights.administers("mia", "team")).toBe(false);
    expect(rights.administers(null, "team")).toBe(false);
    expect(rights.administers("robot$ci", "team")).toBe(false);
  });
});

describe("robots", () => {
  test("a robot gets its own grant, capped by what its creator may do now", async () => {
    const { accounts, sorted, users } = await setUp();
    await accounts.createNamespace("team", false);
    await accounts.putMember("team", "ann", "developer");
    await accounts.createRobot(robot("by-ann", ["pull", "push", "delete"]), "ann");
    await accounts.createRobot(robot("by-root", ["pull", "push", "delete"], ["**"]), "root");
    await accounts.createRobot(robot("by-cli", ["pull"], ["team/**"]), CLI_CREATOR);
    await accounts.fresh();
    expect(sorted("robot$by-ann", "team/app")).toEqual(["pull", "push"]);
    expect(sorted("robot$by-ann", "other/app")).toEqual([]);
    expect(sorted("robot$by-root", "other/app")).toEqual(["delete", "pull", "push"]);
    expect(sorted("robot$by-cli", "team/app")).toEqual(["pull"]);
    expect(sorted("robot$by-cli", "private/x")).toEqual([]);
    // what anonymous callers may do, a robot may do too
    expect(sorted("robot$by-cli", "public/base")).toEqual(["pull"]);
    // the creator loses the role: the robot loses it at once
    await accounts.putMember("team", "ann", "reader");
    await accounts.fresh();
    expect(sorted("robot$by-ann", "team/app")).toEqual(["pull"]);
    // a creator removed from the users file leaves their robot nothing
    users.delete("ann");
    expect(sorted("robot$by-ann", "team/app")).toEqual([]);
  });

  test("a robot never gets the htpasswd-only model's everything, nor admin", async () => {
    const { accounts, sorted, rights } = await setUp({ rules: false });
    await accounts.createRobot(robot("ci", ["pull"]), "ann");
    await accounts.fresh();
    expect(sorted("ann", "other/app")).toEqual(["delete", "pull", "push"]);
    expect(sorted("robot$ci", "team/app")).toEqual(["pull"]);
    expect(sorted("robot$ci", "other/app")).toEqual([]);
    expect(rights.isAdmin("robot$ci")).toBe(false);
  });

  test("disabled, expired and unknown robots have no rights", async () => {
    const { accounts, sorted, advance } = await setUp();
    await accounts.createRobot(robot("off", ["pull"]), CLI_CREATOR);
    await accounts.createRobot(robot("short", ["pull"], ["team/**"], 1000), CLI_CREATOR);
    await accounts.setRobotDisabled("off", true);
    await accounts.fresh();
    expect(sorted("robot$off", "team/app")).toEqual([]);
    expect(sorted("robot$short", "team/app")).toEqual(["pull"]);
    advance(1000);
    expect(sorted("robot$short", "team/app")).toEqual([]);
    expect(sorted("robot$nobody", "team/app")).toEqual([]);
  });
});

describe("why a request is denied", () => {
  test("names no rule, or the rules and roles that apply with what they grant", async () => {
    const { accounts, rights } = await setUp();
    await accounts.createNamespace("team", true);
    await accounts.putMember("team", "group:ops", "reader");
    await accounts.fresh();
    expect(rights.whyDenied("rita", "private/x", "push")).toBe("no [[access]] rule or namespace role grants push on private/x to rita");
    expect(rights.whyDenied("dave", "tools/x", "push")).toBe("rule 2 (tools/**, users dave) grants pull only");
    expect(rights.whyDenied("dave", "public/x", "delete")).toBe("rule 1 (public/**, anonymous) grants pull only");
    expect(rights.whyDenied("olga", "team/app", "push")).toBe("namespace team (anonymous pull) grants pull only; namespace team (reader: group:ops) grants pull only");
    expect(rights.whyNotAdmin("rita")).toBe("rita is not in [auth] admins");
    expect(rights.whyNotAdmin("rita", "team")).toBe("rita is neither in [auth] admins nor an admin of namespace team");
  });

  test("a robot's reason is its state, its grant, or its creator's rights", async () => {
    const { accounts, rights, users } = await setUp();
    await accounts.createNamespace("team", false);
    await accounts.putMember("team", "ann", "reader");
    await accounts.createRobot(robot("by-ann", ["pull", "push"]), "ann");
    await accounts.createRobot(robot("off", ["pull"]), CLI_CREATOR);
    await accounts.setRobotDisabled("off", true);
    await accounts.fresh();
    expect(rights.whyDenied("robot$by-ann", "team/app", "push")).toBe("robot$by-ann's creator ann may not push on team/app: namespace team (reader: ann) grants pull only");
    expect(rights.whyDenied("robot$by-ann", "team/app", "delete")).toBe("robot$by-ann's grant (team/**: pull, push) does not include delete on team/app");
    expect(rights.whyDenied("robot$off", "team/app", "pull")).toBe("robot$off is disabled");
    expect(rights.whyDenied("robot$nobody", "team/app", "pull")).toBe("robot$nobody no longer exists");
    users.delete("ann");
    expect(rights.whyDenied("robot$by-ann", "team/app", "push")).toBe("robot$by-ann's creator ann is no longer a user");
    expect(rights.whyNotAdmin("robot$by-ann")).toBe("robots cannot use the admin API");
  });
});
