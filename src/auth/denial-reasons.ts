/**
 * Why the access layer refused a request, in words an operator can act on: which rule or role
 * applies and what it grants, or that none does. Made only when a request is denied (for the
 * audit line), never on the way to an allowed one; the client's 403 does not carry it (it must
 * not tell what exists or who may do what).
 */
import { namespaceMatcher, ROBOT_PREFIX, type Robot, ROLE_ACTIONS } from "../accounts/model.ts";
import type { AccountsSnapshot } from "../accounts/snapshot.ts";
import type { Action, Caller, RuleMatch } from "./policy.ts";

/** `alice`, `robot$ci`, `anonymous callers`. */
export function whom(caller: Caller): string {
  return caller === null ? "anonymous callers" : caller;
}

/** What the rules and roles that apply grant, or that none applies: `rule 2 (team/**, users alice) grants pull only`. */
export function grantDenial(caller: Caller, repository: string, action: Action, matches: readonly RuleMatch[]): string {
  if (matches.length === 0) return `no [[access]] rule or namespace role grants ${action} on ${repository} to ${whom(caller)}`;
  return matches.map((match) => `${match.label} grants ${grantText(match.actions)}`).join("; ");
}

/**
 * The namespaces containing `repository` that give one of `names` (a user and its group:G) a
 * role, or anonymous callers pull: `namespace team (reader: group:ops)`.
 */
export function roleMatches(snapshot: AccountsSnapshot, names: readonly string[], repository: string): RuleMatch[] {
  const matches: RuleMatch[] = [];
  for (const namespace of snapshot.namespaces()) {
    if (!namespaceMatcher(namespace.name)(repository)) continue;
    if (namespace.anonymousPull) matches.push({ label: `namespace ${namespace.name} (anonymous pull)`, actions: ["pull"] });
    for (const member of namespace.members) {
      if (names.includes(member.member)) matches.push({ label: `namespace ${namespace.name} (${member.role}: ${member.member})`, actions: ROLE_ACTIONS[member.role] });
    }
  }
  return matches;
}

/** A robot's own limits, before the rules that also apply to it: unusable, outside its grant, or capped by its creator. */
export function robotLimit(robot: Robot, now: number, repository: string, action: Action, ownGrant: readonly Action[]): string | null {
  const name = `${ROBOT_PREFIX}${robot.name}`;
  if (robot.disabled) return `${name} is disabled`;
  if (robot.expiresAt !== null && robot.expiresAt <= now) return `${name} has expired`;
  if (!ownGrant.includes(action)) return `${name}'s grant (${robot.repositories.join(" ")}: ${robot.actions.join(", ")}) does not include ${action} on ${repository}`;
  return null;
}

function grantText(actions: readonly Action[]): string {
  return actions.length === 0 ? "nothing" : `${actions.join(", ")} only`;
}
