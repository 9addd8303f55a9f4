/**
 * Robot accounts (`robot$NAME`) as a source of callers beside the htpasswd file: their secrets
 * are checked against the metadata index (robots.ts), and their rights come from the access
 * rights (rights.ts), which cap a robot by its creator's.
 */
import type { AccountSource, Principal, SourceVerdict } from "./account-source.ts";
import { isRobotName, type RobotLogins } from "./robots.ts";

export class RobotSource implements AccountSource {
  readonly throttled = true;

  constructor(private readonly robots: RobotLogins) {}

  handles(name: string): boolean {
    return isRobotName(name);
  }

  async verify(name: string, password: string, addr: string): Promise<SourceVerdict> {
    return (await this.robots.verify(name, password, addr)) ? { ok: true, principal: { name, rights: null } } : { ok: false };
  }

  /** A disabled or expired robot's tokens stop working at once. */
  subject(name: string): Principal | null {
    return isRobotName(name) && this.robots.isActive(name) ? { name, rights: null } : null;
  }
}
