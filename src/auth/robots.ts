/**
 * Robot sign-in: the user name `robot$NAME` and the robot's secret (or, for the grace period
 * after a rotation, the one before it), checked against the metadata index; basic auth and the
 * token service both come through Login. Disabled and expired robots are refused at once, their
 * tokens too (the controller asks `isActive` for every bearer token).
 */
import type { Accounts } from "../accounts/accounts.ts";
import { ROBOT_PREFIX, robotUsable } from "../accounts/model.ts";
import { hashSecret, secretMatches } from "../accounts/secrets.ts";

/** Whether a user name names a robot (then only the robots are asked, never the users file). */
export function isRobotName(user: string | null): user is string {
  return user !== null && user.startsWith(ROBOT_PREFIX);
}

/** A hash no secret matches in practice: an unknown robot costs the same check as a known one. */
const NO_ROBOT = hashSecret("no robot has this secret");

export class RobotLogins {
  constructor(
    private readonly accounts: Accounts,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `user` is a usable robot and `secret` its secret; records the use. */
  async verify(user: string, secret: string, addr: string): Promise<boolean> {
    const snapshot = await this.accounts.fresh();
    const now = this.now();
    const robot = snapshot.robot(user.slice(ROBOT_PREFIX.length));
    const current = secretMatches(secret, robot?.secretHash ?? NO_ROBOT);
    const previous = robot?.previousHash != null && (robot.previousUntil ?? 0) > now && secretMatches(secret, robot.previousHash);
    if (robot === undefined || !robotUsable(robot, now) || !(current || previous)) return false;
    this.accounts.recordRobotUse(robot.name, addr);
    return true;
  }

  /** Whether a token's subject `robot$NAME` may still act (exists, enabled, not expired). */
  isActive(user: string): boolean {
    const robot = this.accounts.current().robot(user.slice(ROBOT_PREFIX.length));
    return robot !== undefined && robotUsable(robot, this.now());
  }
}
