/**
 * One password check, as every entry point does it (Basic on /v2/, the token endpoint):
 * throttled per client address and user name, logged when it fails. The throttle counts a
 * check as failed from before it starts until it succeeds, so parallel guesses cannot overrun
 * its limits.
 */
import type { Logger } from "../log.ts";
import { KeyedLock } from "../registry/keyed-lock.ts";
import type { AccountSource, Principal, SourceVerdict } from "./account-source.ts";
import type { AccessEntry } from "./jwt.ts";
import type { LoginThrottle } from "./throttle.ts";
import type { SharedFailures } from "./shared-failures.ts";
import type { UserStore } from "./users.ts";

/** `unavailable`: the account's source (the directory) cannot answer now; nothing was decided. */
export type LoginResult = { ok: true; principal: Principal } | { ok: false; retryAfter: number; unavailable?: string };

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
    /** sources of users beyond the file (the directory, OIDC), asked in this order */
    private readonly sources: AccountSource[] = [],
    /** failures every replica counts (shared metadata); null for one process */
    private readonly shared: SharedFailures | null = null,
  ) {}

  /** ok, or refused; retryAfter > 0 when the caller is locked out (then nothing was checked). */
  check(credentials: BasicCredentials, addr: string): Promise<LoginResult> {
    return this.inFlight.run(`${addr}\n${credentials.user.slice(0, 256)}`, () => this.checkOnce(credentials, addr));
  }

  private async checkOnce(credentials: BasicCredentials, addr: string): Promise<LoginResult> {
    const user = credentials.user.slice(0, 256);
    const source = this.sourceFor(user);
    const throttled = source?.throttled ?? true;
    let wait = throttled ? this.throttle.reserve(addr, user) : 0;
    if (wait === 0 && throttled && this.shared) {
      wait = await this.shared.retryAfter(addr, user).catch(() => 0); // the database away: the local limits still hold
      if (wait > 0) this.throttle.release(addr, user);
    }
    if (wait > 0) {
      this.log("warn", "login throttled", { user, addr, retry_after: wait });
      return { ok: false, retryAfter: wait };
    }
    let verdict: SourceVerdict = { ok: false };
    try {
      verdict = source ? await source.verify(user, credentials.password, addr) : await this.verifyInFile(user, credentials.password);
    } finally {
      if (throttled) this.settle(addr, user, verdict);
    }
    if (verdict.ok) return { ok: true, principal: verdict.principal };
    if (verdict.unavailable !== undefined) {
      this.log("warn", "login could not be checked", { user, addr, reason: verdict.unavailable });
      return { ok: false, retryAfter: 0, unavailable: verdict.unavailable };
    }
    this.log("warn", "login failed", { user, addr });
    return { ok: false, retryAfter: 0 };
  }

  /** A check the directory could not make counts neither way. */
  private settle(addr: string, user: string, verdict: SourceVerdict): void {
    if (!verdict.ok && verdict.unavailable !== undefined) {
      this.throttle.release(addr, user);
      return;
    }
    this.throttle.settle(addr, user, verdict.ok);
    // not awaited: the answer does not wait for the other replicas' count
    this.shared?.record(addr, user, verdict.ok).catch((error: unknown) => this.log("warn", "could not count a login in the shared database", { error: String(error) }));
  }

  /** The source that checks `name` (the file holds it, or no source takes it: undefined, the file decides). */
  private sourceFor(name: string): AccountSource | undefined {
    const inFile = this.users.exists(name);
    return this.sources.find((candidate) => candidate.handles(name, inFile));
  }

  private async verifyInFile(name: string, password: string): Promise<SourceVerdict> {
    return (await this.users.verify(name, password)) ? { ok: true, principal: { name, rights: null } } : { ok: false };
  }

  /** The caller a registry token names, when its user still exists (file or source); else null. */
  subject(name: string, access: AccessEntry[]): Principal | null {
    if (this.users.exists(name)) return { name, rights: null };
    for (const source of this.sources) {
      const principal = source.subject(name, access);
      if (principal !== null) return principal;
    }
    return null;
  }
}
