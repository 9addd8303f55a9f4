/**
 * The sources of users beyond the htpasswd file, built from the configuration: the directory
 * (`[auth.ldap]`) and OIDC workload identity (`[[auth.oidc_trust]]`). Nothing here touches
 * the network; a CA file that cannot be read or a filter that does not parse stops start-up.
 */
import { readFileSync } from "node:fs";
import type { ResolvedConfig } from "../config/resolve.ts";
import type { Logger } from "../log.ts";
import type { AccountSource } from "./account-source.ts";
import { checkLdapFilters, LdapDirectory } from "./ldap/directory.ts";
import { DirectorySource } from "./ldap/source.ts";
import { OidcTrust } from "./oidc/source.ts";

export interface AccountSources {
  /** in the order Login asks them */
  list: AccountSource[];
  directory: DirectorySource | null;
  oidc: OidcTrust | null;
  describe(): Record<string, string>;
}

/** @throws Error with a message for the operator */
export function createAccountSources(config: Pick<ResolvedConfig, "auth">, log: Logger): AccountSources {
  const { ldap, oidcTrust, tokenTtlMs } = config.auth;
  let directory: DirectorySource | null = null;
  if (ldap !== null) {
    checkLdapFilters(ldap);
    if (ldap.startTls && ldap.url.startsWith("ldaps:")) throw new Error("[auth.ldap] start_tls is for ldap:// URLs; ldaps:// is TLS from the start");
    if (ldap.userBase === "") throw new Error("[auth.ldap] user_base is needed: where users are searched");
    directory = new DirectorySource(new LdapDirectory(ldap, ldap.caFile === "" ? undefined : readCa(ldap.caFile), log), tokenTtlMs);
  }
  const oidc = oidcTrust.length > 0 ? new OidcTrust(oidcTrust, log) : null;
  oidcTrust.forEach((entry, index) => {
    // a public issuer signs tokens for every repository of every customer: claims are what narrow it to yours
    if (Object.keys(entry.claims).length === 0) log("warn", `[[auth.oidc_trust]] entry ${index + 1} has no claims: every token ${entry.issuer} issues for audience "${entry.audience}" is accepted`);
  });
  return {
    // OIDC first: it takes only the name "oidc"; the directory takes every name the file does not hold
    list: [oidc, directory].filter((source): source is OidcTrust | DirectorySource => source !== null),
    directory,
    oidc,
    describe: () => ({
      ...(ldap === null ? {} : { ldap: ldap.url }),
      ...(oidcTrust.length === 0 ? {} : { oidc_trust: String(oidcTrust.length) }),
    }),
  };
}

function readCa(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`Cannot read [auth.ldap] ca_file ${path}: ${code === "ENOENT" ? "no such file" : code}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`[auth.ldap] ca_file ${path} is not a PEM certificate`);
  return text;
}
