/**
 * The accounts as the access layer reads them on every request: robots by name and namespaces
 * compiled to matchers, so a rights check is a few map lookups and no query. An empty snapshot
 * (no robots, no namespaces) answers at once: users of the htpasswd file pay nothing for it.
 */
import { globToRegExp } from "../oci/glob.ts";
import { type Namespace, namespaceMatcher, type RepositoryAction, type Robot, ROLE_ACTIONS, type Role } from "./model.ts";

interface CompiledNamespace {
  namespace: Namespace;
  contains: (repository: string) => boolean;
  roles: Map<string, Role>;
}

export class AccountsSnapshot {
  private readonly robotsByName: Map<string, Robot>;
  private readonly robotPatterns = new Map<string, RegExp[]>();
  private readonly compiled: CompiledNamespace[];
  private readonly byName: Map<string, CompiledNamespace>;
  /** some namespace lets anonymous callers pull */
  readonly anonymousPull: boolean;

  constructor(
    robots: Robot[],
    namespaces: Namespace[],
    /** when it was read (ms) */
    readonly readAt: number,
  ) {
    this.robotsByName = new Map(robots.map((robot) => [robot.name, robot]));
    this.compiled = namespaces.map((namespace) => ({
      namespace,
      contains: namespaceMatcher(namespace.name),
      roles: new Map(namespace.members.map((member) => [member.member, member.role])),
    }));
    this.byName = new Map(this.compiled.map((entry) => [entry.namespace.name, entry]));
    this.anonymousPull = namespaces.some((namespace) => namespace.anonymousPull);
  }

  static empty(): AccountsSnapshot {
    return new AccountsSnapshot([], [], 0);
  }

  robot(name: string): Robot | undefined {
    return this.robotsByName.get(name);
  }

  robots(): Robot[] {
    return [...this.robotsByName.values()];
  }

  namespace(name: string): Namespace | undefined {
    return this.byName.get(name)?.namespace;
  }

  namespaces(): Namespace[] {
    return this.compiled.map((entry) => entry.namespace);
  }

  /** The actions a robot's own grant gives on `repository` (before the creator's cap). */
  robotGrant(robot: Robot, repository: string): readonly RepositoryAction[] {
    let patterns = this.robotPatterns.get(robot.name);
    if (patterns === undefined) {
      patterns = robot.repositories.map(globToRegExp);
      this.robotPatterns.set(robot.name, patterns);
    }
    return patterns.some((pattern) => pattern.test(repository)) ? robot.actions : [];
  }

  /**
   * What roles give on `repository` to a caller known by `names` (the user name and group:G for
   * each of its groups; empty for anonymous): the union over every namespace that contains it,
   * plus pull where a namespace lets anonymous callers pull.
   */
  roleGrant(names: readonly string[], repository: string): Set<RepositoryAction> {
    const granted = new Set<RepositoryAction>();
    for (const entry of this.compiled) {
      if (!entry.contains(repository)) continue;
      if (entry.namespace.anonymousPull) granted.add("pull");
      for (const name of names) {
        const role = entry.roles.get(name);
        if (role !== undefined) for (const action of ROLE_ACTIONS[role]) granted.add(action);
      }
    }
    return granted;
  }

  /** Whether one of `names` is an admin of namespace `name`. */
  administers(names: readonly string[], name: string): boolean {
    const roles = this.byName.get(name)?.roles;
    return roles !== undefined && names.some((member) => roles.get(member) === "admin");
  }

  get isEmpty(): boolean {
    return this.robotsByName.size === 0 && this.compiled.length === 0;
  }
}
