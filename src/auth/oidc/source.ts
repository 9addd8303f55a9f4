/**
 * CI jobs signing in with their OIDC ID token: as the password of the user `oidc` (docker
 * login), or exchanged at POST /auth/oidc (exchange.ts). A token is verified against its
 * issuer's keys and matched against `[[auth.oidc_trust]]`; the caller is then named
 * `oidc:<sub>` (no user of the file or the directory can have a colon in its name) and may do
 * what the matching entries allow, nothing from [[access]] rules and never admin.
 *
 * There is no password to guess, so failed attempts are not throttled (a runner's jobs share
 * one address); unknown key ids are rate-limited in jwks.ts instead.
 */
import type { Logger } from "../../log.ts";
import type { AccountSource, Principal, SourceVerdict } from "../account-source.ts";
import type { AccessEntry } from "../jwt.ts";
import { IssuerKeys, IssuerUnavailable, type JwksOptions } from "./jwks.ts";
import { compileTrust, matchesClaims, type OidcTrustConfig, rightsOf, type TrustEntry } from "./trust.ts";
import { OidcTokenError, readToken, tokenAudiences, verifyIdToken } from "./verify.ts";

/** The user name `docker login` takes with an ID token as the password. */
export const OIDC_USER = "oidc";
const NAME_PREFIX = "oidc:";
const MAX_SUBJECT_LENGTH = 256;

export type OidcVerdict = { ok: true; principal: Principal; issuer: string } | { ok: false; reason: string; unavailable: boolean };

export class OidcTrust implements AccountSource {
  readonly throttled = false;
  private readonly entries: TrustEntry[];
  private readonly keys = new Map<string, IssuerKeys>();

  constructor(
    config: OidcTrustConfig,
    private readonly log: Logger,
    options: JwksOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.entries = compileTrust(config);
    for (const entry of this.entries) if (!this.keys.has(entry.issuer)) this.keys.set(entry.issuer, new IssuerKeys(entry.issuer, options));
  }

  handles(name: string): boolean {
    return name === OIDC_USER;
  }

  async verify(_name: string, password: string): Promise<SourceVerdict> {
    const verdict = await this.check(password);
    if (verdict.ok) return verdict;
    this.log("warn", "OIDC token refused", { reason: verdict.reason });
    return verdict.unavailable ? { ok: false, unavailable: verdict.reason } : { ok: false };
  }

  /** A registry token Berth issued to a CI job: it may do what the token's access claim says, nothing more. */
  subject(name: string, access: AccessEntry[]): Principal | null {
    if (!name.startsWith(NAME_PREFIX)) return null;
    return {
      name,
      rights: (repository, action) => access.some((entry) => entry.type === "repository" && entry.name === repository && entry.actions.includes(action)),
    };
  }

  /** Verifies an ID token and finds what it may do; the reason says why it was refused. */
  async check(token: string): Promise<OidcVerdict> {
    try {
      const unverified = readToken(token);
      const issuer = unverified.claims.iss;
      const keys = typeof issuer === "string" ? this.keys.get(issuer) : undefined;
      if (keys === undefined) throw new OidcTokenError("Token issuer not trusted");
      const candidates = this.entries.filter((entry) => entry.issuer === keys.issuer);
      const claims = await verifyIdToken(unverified, keys, candidates.map((entry) => entry.audience), Math.floor(this.now() / 1000));
      const audiences = tokenAudiences(claims);
      const matching = candidates.filter((entry) => audiences.includes(entry.audience) && matchesClaims(entry, claims));
      if (matching.length === 0) throw new OidcTokenError("No [[auth.oidc_trust]] entry matches the token's claims");
      const sub = claims.sub;
      if (typeof sub !== "string" || sub === "" || sub.length > MAX_SUBJECT_LENGTH) throw new OidcTokenError('Token claim "sub" missing');
      return { ok: true, principal: { name: `${NAME_PREFIX}${sub}`, rights: rightsOf(matching) }, issuer: keys.issuer };
    } catch (error) {
      if (error instanceof OidcTokenError) return { ok: false, reason: error.message, unavailable: false };
      if (error instanceof IssuerUnavailable) return { ok: false, reason: `OIDC issuer unavailable: ${error.message}`, unavailable: true };
      throw error;
    }
  }
}
