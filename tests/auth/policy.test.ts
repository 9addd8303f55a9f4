/** The access policy: globs, users, groups, anonymous, admins, and start-up errors. */
import { describe, expect, test } from "bun:test";
import { Policy, type AccessRule } from "../../src/auth/policy.ts";
import { globToRegExp } from "../../src/oci/glob.ts";

const rule = (partial: Partial<AccessRule> & Pick<AccessRule, "repositories" | "actions">): AccessRule => ({
  users: [],
  groups: [],
  anonymous: false,
  ...partial,
});

describe("globToRegExp", () => {
  const cases: Array<[string, string, boolean]> = [
    ["team/**", "team/app", true],
    ["team/**", "team/a/b/c", true],
    ["team/**", "team", false],
    ["team/**", "teams/app", false],
    ["*/base", "library/base", true],
    ["*/base", "a/b/base", false],
    ["**/base", "base", true],
    ["**/base", "a/b/base", true],
    ["**/base", "a/b/base2", false],
    ["app-?", "app-1", true],
    ["app-?", "app-12", false],
    ["a.b", "axb", false],
    ["**", "anything/at/all", true],
    ["exact/name", "exact/name", true],
    ["exact/name", "exact/name/more", false],
  ];
  test.each(cases)("%s against %s matches: %p", (glob, name, matches) => {
    expect(globToRegExp(glob).test(name)).toBe(matches);
  });
});

describe("Policy", () => {
  const policy = new Policy({
    admins: ["root"],
    groups: { devs: ["alice", "bob"], empty: [] },
    access: [
      rule({ repositories: ["team/**"], groups: ["devs"], actions: ["pull", "push"] }),
      rule({ repositories: ["team/**"], users: ["alice"], actions: ["delete"] }),
      rule({ repositories: ["public/**"], anonymous: true, actions: ["pull"] }),
      rule({ repositories: ["shared/*"], users: ["*"], actions: ["*"] }),
      rule({ repositories: ["nobody/**"], groups: ["empty"], actions: ["pull"] }),
    ],
  });

  test("a user gets the union of the rules that name them or their groups", () => {
    expect([...policy.allowed("alice", "team/app")].sort()).toEqual(["delete", "pull", "push"]);
    expect([...policy.allowed("bob", "team/app")].sort()).toEqual(["pull", "push"]);
    expect([...policy.allowed("carol", "team/app")]).toEqual([]);
  });

  test("no rule matching means no access", () => {
    expect(policy.allowed("alice", "private/x").size).toBe(0);
    expect(policy.allowed(null, "team/app").size).toBe(0);
  });

  test("anonymous rules apply to anonymous callers and to every signed-in user", () => {
    expect(policy.allows(null, "public/base", "pull")).toBe(true);
    expect(policy.allows(null, "public/base", "push")).toBe(false);
    expect(policy.allows("carol", "public/base", "pull")).toBe(true);
    expect(policy.anonymousHasAccess()).toBe(true);
  });

  test('users = ["*"] is every signed-in user, not anonymous; actions "*" is all three', () => {
    expect([...policy.allowed("carol", "shared/x")].sort()).toEqual(["delete", "pull", "push"]);
    expect(policy.allowed(null, "shared/x").size).toBe(0);
    expect(policy.allowed("carol", "shared/x/y").size).toBe(0);
  });

  test("admins have every right on every repository", () => {
    expect(policy.isAdmin("root")).toBe(true);
    expect(policy.isAdmin(null)).toBe(false);
    expect([...policy.allowed("root", "any/where")].sort()).toEqual(["delete", "pull", "push"]);
  });

  test("an unknown group or a rule naming nobody stops start-up with the rule's place", () => {
    expect(() => new Policy({ admins: [], groups: {}, access: [rule({ repositories: ["a/**"], groups: ["ops"], actions: ["pull"] })] })).toThrow(
      '[[access]] entry 1 (repositories ["a/**"]) names group "ops", which [auth.groups] does not define',
    );
    expect(() => new Policy({ admins: [], groups: {}, access: [rule({ repositories: ["a/**"], actions: ["pull"] })] })).toThrow(
      "names no users, groups or anonymous = true",
    );
  });

  test("without any anonymous rule, anonymous has no access at all", () => {
    const closed = new Policy({ admins: [], groups: {}, access: [rule({ repositories: ["**"], users: ["x"], actions: ["pull"] })] });
    expect(closed.anonymousHasAccess()).toBe(false);
    expect(closed.namedUsers()).toEqual(["x"]);
  });

  test("with neither rules nor admins (htpasswd only, as registry:2), every signed-in user may do everything, anonymous nothing", () => {
    const open = new Policy({ admins: [], groups: {}, access: [] });
    expect(open.htpasswdOnly).toBe(true);
    expect([...open.allowed("anyone", "any/where")].sort()).toEqual(["delete", "pull", "push"]);
    expect(open.allowed(null, "any/where").size).toBe(0);
    expect(open.anonymousHasAccess()).toBe(false);
    expect(open.isAdmin("anyone")).toBe(false);
    expect(open.describe()).toBe("htpasswd-only (every signed-in user may pull, push, delete)");
  });

  test("rules or admins switch to the rules model, and say how many there are", () => {
    expect(policy.htpasswdOnly).toBe(false);
    expect(policy.describe()).toBe("rules (5 rules, 1 admin)");
    const adminsOnly = new Policy({ admins: ["root"], groups: {}, access: [] });
    expect(adminsOnly.htpasswdOnly).toBe(false);
    expect(adminsOnly.allowed("alice", "any/where").size).toBe(0);
    expect(adminsOnly.describe()).toBe("rules (0 rules, 1 admin)");
  });
});
