/**
 * The access policy: `[[access]]` rules from registry.toml, `[auth] admins` and `[auth.groups]`,
 * compiled once at start. It answers one question: which actions may this caller do on this
 * repository? Nothing here knows about HTTP or storage.
 *
 * With neither rules nor admins, the users file alone decides, as with registry:2's htpasswd
 * auth: every signed-in user may pull, push and delete everywhere, anonymous callers nothing.
 */
import { globToRegExp } from "../oci/glob.ts";

/** What a rule can grant on a repository. `*` in a rule means all three. */
export type Action = "pull" | "push" | "delete";
export const ACTIONS: readonly Action[] = ["pull", "push", "delete"];

/** A caller: a user name from the htpasswd file, or null for anonymous. */
export type Caller = string | null;

export interface AccessRule {
  repositories: string[];
  users: string[];
  groups: string[];
  anonymous: boolean;
  actions: Array<Action | "*">;
}

export interface PolicyConfig {
  admins: string[];
  groups: Record<string, string[]>;
  access: AccessRule[];
  /** a user's groups from elsewhere (the directory); with it, rules may name groups [auth.groups] does not define */
  groupsOf?: (user: string) => readonly string[];
}

interface CompiledRule {
  patterns: RegExp[];
  users: Set<string>;
  /** the rule's group names, for groups that come from groupsOf */
  groups: string[];
  /** `users = ["*"]`: every authenticated user */
  anyUser: boolean;
  anonymous: boolean;
  actions: Set<Action>;
  /** how a denial names it: `rule 2 (team/**, users alice)` */
  label: string;
}

/** A rule that applies to a caller on a repository, as a denial's reason names it. */
export interface RuleMatch {
  label: string;
  actions: readonly Action[];
}

export class Policy {
  private readonly rules: CompiledRule[];
  private readonly admins: Set<string>;
  private readonly groupsOf: (user: string) => readonly string[];
  /** no rules and no admins: registry:2's model, where signing in is all it takes */
  readonly htpasswdOnly: boolean;

  /** @throws Error naming the rule, when a rule names an unknown group or nobody at all. */
  constructor(config: PolicyConfig) {
    this.admins = new Set(config.admins);
    this.groupsOf = config.groupsOf ?? (() => []);
    this.htpasswdOnly = config.access.length === 0 && config.admins.length === 0;
    this.rules = config.access.map((rule, index) => {
      const where = `[[access]] entry ${index + 1} (repositories ${JSON.stringify(rule.repositories)})`;
      const users = new Set(rule.users.filter((user) => user !== "*"));
      for (const group of rule.groups) {
        const members = config.groups[group];
        if (members === undefined && config.groupsOf !== undefined) continue;
        if (members === undefined) throw new Error(`${where} names group "${group}", which [auth.groups] does not define`);
        for (const member of members) users.add(member);
      }
      const anyUser = rule.users.includes("*");
      if (users.size === 0 && !anyUser && !rule.anonymous && rule.groups.length === 0) {
        throw new Error(`${where} names no users, groups or anonymous = true, so it grants nothing`);
      }
      const actions = new Set<Action>(rule.actions.flatMap((action) => (action === "*" ? ACTIONS : [action])));
      const label = `rule ${index + 1} (${ruleLabel(rule)})`;
      return { patterns: rule.repositories.map(globToRegExp), users, groups: rule.groups, anyUser, anonymous: rule.anonymous, actions, label };
    });
  }

  isAdmin(caller: Caller): boolean {
    return caller !== null && this.admins.has(caller);
  }

  /**
   * The actions `caller` may do on `repository`: the union over matching rules. What anonymous
   * may do, every signed-in user may do too (a `docker login` never loses access).
   */
  allowed(caller: Caller, repository: string): Set<Action> {
    if (this.isAdmin(caller) || (this.htpasswdOnly && caller !== null)) return new Set(ACTIONS);
    const granted = new Set<Action>();
    const groups = caller === null ? [] : this.groupsOf(caller);
    for (const rule of this.rules) {
      if (!applies(rule, caller, groups, repository)) continue;
      for (const action of rule.actions) granted.add(action);
    }
    return granted;
  }

  /** The rules that apply to `caller` on `repository`: for the reason of a denial, not the hot path. */
  matching(caller: Caller, repository: string): RuleMatch[] {
    const groups = caller === null ? [] : this.groupsOf(caller);
    return this.rules.filter((rule) => applies(rule, caller, groups, repository)).map((rule) => ({ label: rule.label, actions: [...rule.actions] }));
  }

  allows(caller: Caller, repository: string, action: Action): boolean {
    return this.allowed(caller, repository).has(action);
  }

  /** Whether any rule lets anonymous callers do anything (then they may list the catalog). */
  anonymousHasAccess(): boolean {
    return this.rules.some((rule) => rule.anonymous && rule.actions.size > 0);
  }

  /** Which model is active, for the start-up line. */
  describe(): string {
    if (this.htpasswdOnly) return "htpasswd-only (every signed-in user may pull, push, delete)";
    const rules = `${this.rules.length} rule${this.rules.length === 1 ? "" : "s"}`;
    return `rules (${rules}, ${this.admins.size} admin${this.admins.size === 1 ? "" : "s"})`;
  }

  /** Users that rules or admins name, to warn about names missing from the htpasswd file. */
  namedUsers(): string[] {
    const names = new Set(this.admins);
    for (const rule of this.rules) for (const user of rule.users) names.add(user);
    return [...names].sort();
  }
}

function applies(rule: CompiledRule, caller: Caller, groups: readonly string[], repository: string): boolean {
  const names = rule.anonymous || (caller !== null && (rule.anyUser || rule.users.has(caller) || rule.groups.some((group) => groups.includes(group))));
  return names && rule.patterns.some((pattern) => pattern.test(repository));
}

/** `team/**, users alice, groups ops`: what an operator recognises of their rule. */
function ruleLabel(rule: AccessRule): string {
  const parts = [rule.repositories.join(" ")];
  if (rule.users.length > 0) parts.push(`users ${rule.users.join(" ")}`);
  if (rule.groups.length > 0) parts.push(`groups ${rule.groups.join(" ")}`);
  if (rule.anonymous) parts.push("anonymous");
  return parts.join(", ");
}
