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
