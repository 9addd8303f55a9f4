/**
 * What a caller may do, all sources together: the `[[access]]` rules and admins of the file
 * (Policy), namespace roles and anonymous pull switches, and robots. A request is allowed when
 * either the file rules or a role allows it. A robot gets what its own grant names, never more
 * than its creator may do now (a creator who loses a right takes it from their robots at once;
 * robots made by `berth robot` have no creator cap).
 *
 * The checks are synchronous over the accounts' snapshot: the access layer makes it fresh
 * (Accounts.fresh) before it asks, once per request.
 */
import type { Accounts } from "../accounts/accounts.ts";
import { CLI_CREATOR, ROBOT_PREFIX, robotUsable } from "../accounts/model.ts";
import type { AccountsSnapshot } from "../accounts/snapshot.ts";
import { grantDenial, robotLimit, roleMatches } from "./denial-reasons.ts";
import { ACTIONS, type Action, type Caller, type Policy } from "./policy.ts";
import { isRobotName } from "./robots.ts";

/** The questions the controller and the token service ask. */
export interface AccessRights {
  allowed(caller: Caller, repository: string): Set<Action>;
  allows(caller: Caller, repository: string, action: Action): boolean;
  /** admins of the file: every right, and the admin API */
  isAdmin(caller: Caller): boolean;
  /** an admin, or an admin member of namespace `namespace` (manages its members and robots) */
  administers(caller: Caller, namespace: string): boolean;
  /** whether anonymous callers may pull anything (then they may list the catalog) */
  anonymousHasAccess(): boolean;
  /** why `allows` said no, for the audit log: asked only when denying */
  whyDenied(caller: Caller, repository: string, action: Action): string;
  /** why `isAdmin` (or `administers(namespace)`) said no */
  whyNotAdmin(caller: string, namespace?: string): string;
}

export class AccountRights implements AccessRights {
  constructor(
    private readonly policy: Policy,
    private readonly accounts: Accounts,
    /** [auth.groups] a user is in, as role members name them (group:NAME) */
    private readonly groupsOf: (user: string) => readonly string[],
    /** whether a robot's creator is still a user (a removed one leaves their robots no rights) */
    private readonly userExists: (user: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  isAdmin(caller: Caller): boolean {
    return !isRobotName(caller) && this.policy.isAdmin(caller);
  }

  administers(caller: Caller, namespace: string): boolean {
    if (caller === null || isRobotName(caller)) return false;
    return this.policy.isAdmin(caller) || this.accounts.current().administers(this.memberNames(caller), namespace);
  }

  allowed(caller: Caller, repository: string): Set<Action> {
    const snapshot = this.accounts.current();
    if (isRobotName(caller)) return this.robotRights(snapshot, caller, repository);
    return this.personRights(snapshot, caller, repository);
  }

  allows(caller: Caller, repository: string, action: Action): boolean {
    return this.allowed(caller, repository).has(action);
  }

  anonymousHasAccess(): boolean {
    return this.policy.anonymousHasAccess() || this.accounts.current().anonymousPull;
  }

  whyDenied(caller: Caller, repository: string, action: Action): string {
    const snapshot = this.accounts.current();
    if (!isRobotName(caller)) return this.personDenial(snapshot, caller, repository, action);
    const robot = snapshot.robot(caller.slice(ROBOT_PREFIX.length));
    if (robot === undefined) return `${caller} no longer exists`;
    const limit = robotLimit(robot, this.now(), repository, action, snapshot.robotGrant(robot, repository));
    if (limit !== null) return limit;
    if (robot.creator !== CLI_CREATOR && !this.userExists(robot.creator)) return `${caller}'s creator ${robot.creator} is no longer a user`;
    return `${caller}'s creator ${robot.creator} may not ${action} on ${repository}: ${this.personDenial(snapshot, robot.creator, repository, action)}`;
  }

  whyNotAdmin(caller: string, namespace?: string): string {
    if (isRobotName(caller)) return namespace === undefined ? "robots cannot use the admin API" : "robots cannot administer namespaces";
    if (namespace === undefined) return `${caller} is not in [auth] admins`;
    return `${caller} is neither in [auth] admins nor an admin of namespace ${namespace}`;
  }

  private personDenial(snapshot: AccountsSnapshot, caller: Caller, repository: string, action: Action): string {
    const rules = this.policy.matching(caller, repository);
    const roles = snapshot.isEmpty ? [] : roleMatches(snapshot, caller === null ? [] : this.memberNames(caller), repository);
    return grantDenial(caller, repository, action, [...rules, ...roles]);
  }

  /** The file's rules, plus what roles (and anonymous pull switches) give. */
  private personRights(snapshot: AccountsSnapshot, caller: Caller, repository: string): Set<Action> {
    const granted = this.policy.allowed(caller, repository);
    if (snapshot.isEmpty || granted.size === ACTIONS.length) return granted;
    for (const action of snapshot.roleGrant(caller === null ? [] : this.memberNames(caller), repository)) granted.add(action);
    return granted;
  }

  /** Its grant within its creator's rights, plus what anonymous callers may do (signing in never loses access). */
  private robotRights(snapshot: AccountsSnapshot, caller: string, repository: string): Set<Action> {
    const robot = snapshot.robot(caller.slice(ROBOT_PREFIX.length));
    if (robot === undefined || !robotUsable(robot, this.now())) return new Set();
    const granted = this.personRights(snapshot, null, repository);
    const own = snapshot.robotGrant(robot, repository);
    // a creator is a person (robots cannot make robots); berth:cli is the operator on the machine
    if (own.length === 0 || (robot.creator !== CLI_CREATOR && !this.userExists(robot.creator))) return granted;
    const cap = robot.creator === CLI_CREATOR ? new Set(ACTIONS) : this.personRights(snapshot, robot.creator, repository);
    for (const action of own) if (cap.has(action)) granted.add(action);
    return granted;
  }

  private memberNames(user: string): string[] {
    return [user, ...this.groupsOf(user).map((group) => `group:${group}`)];
  }
}
