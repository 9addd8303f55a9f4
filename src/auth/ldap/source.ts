/**
 * Directory users as a source of accounts: every name the htpasswd file does not hold is
 * checked against the directory (the file first, always).
 *
 * With basic auth every request carries the password; a successful login is remembered for a
 * minute (an HMAC of the password with a per-process key, as src/auth/users.ts does), so a
 * push does not cost a directory round trip per layer. Who signed in lately, and their
 * groups, is kept for the life of a registry token, so [[access]] rules can read the groups
 * and a token names a user Berth still knows; after that a client signs in again.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { AccountSource, Principal, SourceVerdict } from "../account-source.ts";
import type { LdapDirectory } from "./directory.ts";

const REMEMBER_MS = 60_000;
const MAX_ENTRIES = 10_000;
const MAX_NAME_LENGTH = 256;

interface Member {
  mac: Buffer;
  groups: string[];
  /** until when the password check is remembered */
  checkedUntil: number;
  /** until when the user and groups are known (tokens, rules) */
  knownUntil: number;
}

export class DirectorySource implements AccountSource {
  readonly throttled = true;
  private readonly key = randomBytes(32);
  private readonly members = new Map<string, Member>();

  constructor(
    private readonly directory: Pick<LdapDirectory, "authenticate">,
    /** how long a registry token lives: a member is known at least that long */
    private readonly tokenTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  handles(_name: string, inFile: boolean): boolean {
    return !inFile;
  }

  async verify(name: string, password: string): Promise<SourceVerdict> {
    // control characters never belong to a login name; the filter would escape them anyway
    if (name === "" || name.length > MAX_NAME_LENGTH || /[\x00-\x1f\x7f]/.test(name)) return { ok: false };
    const mac = createHmac("sha256", this.key).update(name).update("\0").update(password).digest();
    const known = this.members.get(name);
    if (known && known.checkedUntil > this.now() && timingSafeEqual(known.mac, mac)) {
      // a token issued now must not outlive what Berth knows of its user
      known.knownUntil = Math.max(known.knownUntil, this.knownFor());
      return { ok: true, principal: { name, rights: null } };
    }
    const verdict = await this.directory.authenticate(name, password);
    if (!verdict.ok) {
      if (verdict.unavailable === undefined) this.members.delete(name);
      return verdict.unavailable === undefined ? { ok: false } : { ok: false, unavailable: verdict.unavailable };
    }
    this.remember(name, { mac, groups: verdict.groups, checkedUntil: this.now() + REMEMBER_MS, knownUntil: this.knownFor() });
    return { ok: true, principal: { name, rights: null } };
  }

  /** Until when a user who signs in now is known: as long as the registry token they may get. */
  private knownFor(): number {
    return this.now() + Math.max(REMEMBER_MS, this.tokenTtlMs);
  }

  subject(name: string): Principal | null {
    return this.known(name) ? { name, rights: null } : null;
  }

  /** The directory groups of a user who signed in lately (none otherwise). */
  groupsOf(name: string): readonly string[] {
    return this.known(name)?.groups ?? [];
  }

  private known(name: string): Member | undefined {
    const member = this.members.get(name);
    return member && member.knownUntil > this.now() ? member : undefined;
  }

  private remember(name: string, member: Member): void {
    this.members.delete(name);
    // Map order is oldest first
    while (this.members.size >= MAX_ENTRIES) this.members.delete(this.members.keys().next().value as string);
    this.members.set(name, member);
  }
}
