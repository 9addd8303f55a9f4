/**
 * One password check, as every entry point does it (Basic on /v2/, the token endpoint):
 * throttled per client address and user name, logged when it fails. The throttle counts a
 * check as failed from before it starts until it succeeds, so parallel guesses cannot overrun
 * its limits.
 */
import type { Logger } from "../log.ts";
import { KeyedLock } from "../registry/keyed-lock.ts";
import { isRobotName, type RobotLogins } from "./robots.ts";
import type { LoginThrottle } from "./throttle.ts";
import type { UserStore } from "./users.ts";

export type LoginResult = { ok: true } | { ok: false; retryAfter: number };

export interface BasicCredentials {
  user: string;
  password: string;
}

/** The user and password of an `Authorization: Basic` header, or null when it has none. */
export function basicCredentials(header: string | null): BasicCredentials | null {
  const match = header === null ? null : /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class Login {
  // One check at a time per (address, user): parallel requests with the same right password
  // (a client pushing layers in basic mode) then cost one hash check, and the others find it
  // remembered, instead of each holding one of the few attempts the throttle allows a pair.
  private readonly inFlight = new KeyedLock();

  constructor(
    private readonly users: UserStore,
    private readonly throttle: LoginThrottle,
    private readonly log: Logger,
    private readonly robots: RobotLogins | null = null,
  ) {}

  /** ok, or refused; retryAfter > 0 when the caller is locked out (then nothing was checked). */
  check(credentials: BasicCredentials, addr: string): Promise<LoginResult> {
    return this.inFlight.run(`${addr}\n${credentials.user.slice(0, 256)}`, () => this.checkOnce(credentials, addr));
  }

  private async checkOnce(credentials: BasicCredentials, addr: string): Promise<LoginResult> {
    const user = credentials.user.slice(0, 256);
    const wait = this.throttle.reserve(addr, user);
    if (wait > 0) {
      this.log("warn", "login throttled", { user, addr, retry_after: wait });
      return { ok: false, retryAfter: wait };
    }
    let ok = false;
    try {
      ok = await this.verify(user, credentials.password, addr);
    } finally {
      this.throttle.settle(addr, user, ok);
    }
    if (ok) return { ok: true };
    this.log("warn", "login failed", { user, addr });
    return { ok: false, retryAfter: 0 };
  }

  /** Robots (`robot$NAME`) are checked against the metadata index, everyone else against the users file. */
  private verify(user: string, password: string, addr: string): Promise<boolean> {
    if (this.robots !== null && isRobotName(user)) return this.robots.verify(user, password, addr);
    return this.users.verify(user, password);
  }
}
