/**
 * `[[auth.oidc_trust]]` compiled: which tokens an entry trusts (issuer, audience, claim
 * globs) and what they may then do (actions on repository globs). A token gets the union of
 * the entries it matches; matching none, it is refused.
 */
import type { Static } from "@sinclair/typebox";
import { globToRegExp } from "../../oci/glob.ts";
import { type Action, ACTIONS } from "../policy.ts";
import type { Rights } from "../account-source.ts";
import type { OidcTrustSchema } from "./schema.ts";
import type { Claims } from "./verify.ts";

export type OidcTrustConfig = Static<typeof OidcTrustSchema>;

export interface TrustEntry {
  issuer: string;
  audience: string;
  /** claim name -> the patterns one of which its value must match */
  claims: Array<[string, RegExp[]]>;
  repositories: RegExp[];
  actions: Set<Action>;
}

export function compileTrust(config: OidcTrustConfig): TrustEntry[] {
  return config.map((entry) => ({
    issuer: entry.issuer,
    audience: entry.audience,
    claims: Object.entries(entry.claims).map(([name, patterns]) => [name, (Array.isArray(patterns) ? patterns : [patterns]).map(globToRegExp)]),
    repositories: entry.repositories.map(globToRegExp),
    actions: new Set(entry.actions.flatMap((action) => (action === "*" ? ACTIONS : [action]))),
  }));
}

/** Whether every claim rule of `entry` matches `claims` (strings, or numbers and booleans as text). */
export function matchesClaims(entry: TrustEntry, claims: Claims): boolean {
  return entry.claims.every(([name, patterns]) => {
    const value = claims[name];
    const text = typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : null;
    return text !== null && patterns.some((pattern) => pattern.test(text));
  });
}

/** The rights the matching entries give together. */
export function rightsOf(entries: TrustEntry[]): Rights {
  return (repository, action) => entries.some((entry) => entry.actions.has(action) && entry.repositories.some((pattern) => pattern.test(repository)));
}
