/**
 * Users beyond the htpasswd file: the directory (`[auth.ldap]`, src/auth/ldap/) and CI jobs
 * signing in with an OIDC ID token (`[[auth.oidc_trust]]`, src/auth/oidc/). Login asks the
 * file first, and a source only for the names it takes.
 */
import type { AccessEntry } from "./jwt.ts";
import type { Action } from "./policy.ts";

/** What a caller may do on a repository, when that is its own and not the [[access]] rules'. */
export type Rights = (repository: string, action: Action) => boolean;

/** A signed-in caller. */
export interface Principal {
  /** the name in logs, events and tokens (`sub`) */
  name: string;
  /** null: the [[access]] rules decide, by name and groups */
  rights: Rights | null;
}

export type SourceVerdict = { ok: true; principal: Principal } | { ok: false; unavailable?: string };

export interface AccountSource {
  /** false when a failed attempt cannot be a guess (a signed token): no failed-login throttling */
  readonly throttled: boolean;
  /** whether this source checks `name`; `inFile`: the htpasswd file has a user of that name */
  handles(name: string, inFile: boolean): boolean;
  /** `unavailable` (a message) when the source cannot answer now: not a failed login; `addr`: the caller's */
  verify(name: string, password: string, addr: string): Promise<SourceVerdict>;
  /** the caller a registry token names (its `sub` and `access`), when this source still vouches for it; else null */
  subject(name: string, access: AccessEntry[]): Principal | null;
}
