/** `[auth.ldap]` resolved once: the URL parsed, the timeout in ms; null when `url` is empty. */
import type { Static } from "@sinclair/typebox";
import { parseDuration } from "../../config/duration.ts";
import type { LdapSchema } from "./schema.ts";

export interface LdapSettings {
  url: string;
  startTls: boolean;
  /** absolute path, or "" for the system's CAs */
  caFile: string;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  userFilter: string;
  groupBase: string;
  groupFilter: string;
  groupAttribute: string;
  timeoutMs: number;
}

export function resolveLdap(ldap: Static<typeof LdapSchema>): LdapSettings | null {
  if (ldap.url === "") return null;
  return {
    url: ldap.url,
    startTls: ldap.start_tls,
    caFile: ldap.ca_file,
    bindDn: ldap.bind_dn,
    bindPassword: ldap.bind_password,
    userBase: ldap.user_base,
    userFilter: ldap.user_filter,
    groupBase: ldap.group_base,
    groupFilter: ldap.group_filter,
    groupAttribute: ldap.group_attribute,
    timeoutMs: parseDuration(ldap.timeout),
  };
}
