/**
 * One directory login, as RFC 4513 and every LDAP-backed service do it: bind as the service
 * account, find the user's entry with `user_filter` (the name escaped), bind as that DN with
 * the password, bind back as the service account and collect the names of the groups
 * `group_filter` finds. A new connection per login, closed after it.
 *
 * Refused: an empty password (it would be an anonymous bind, which succeeds without proving
 * anything), no entry or several, an Active Directory account whose userAccountControl has
 * ACCOUNTDISABLE (2), a bind the directory refuses. Unavailable: anything on the wire.
 */
import type { Logger } from "../../log.ts";
import { LdapConnection, LdapUnavailable } from "./connection.ts";
import { encodeFilter, fillFilter } from "./filter.ts";
import { RESULT, type SearchEntry } from "./protocol.ts";
import type { LdapSettings } from "./settings.ts";

export type DirectoryVerdict = { ok: true; groups: string[] } | { ok: false; unavailable?: string };

/** Active Directory's userAccountControl flag of a disabled account. */
const ACCOUNTDISABLE = 2;
const MAX_GROUPS = 1000;

export class LdapDirectory {
  constructor(
    private readonly settings: LdapSettings,
    /** PEM text of ca_file, or undefined for the system's CAs */
    private readonly ca: string | undefined,
    private readonly log: Logger,
  ) {}

  async authenticate(user: string, password: string): Promise<DirectoryVerdict> {
    if (password === "") return { ok: false };
    const { settings } = this;
    let connection: LdapConnection | null = null;
    try {
      connection = await LdapConnection.open({ url: new URL(settings.url), startTls: settings.startTls, ca: this.ca, timeoutMs: settings.timeoutMs });
      if (settings.bindDn !== "") await this.serviceBind(connection);
      const entries = await connection.search(this.search(settings.userBase, fillFilter(settings.userFilter, { user }), ["userAccountControl"], 2));
      if (entries.length !== 1) {
        if (entries.length > 1) this.log("warn", "[auth.ldap] user_filter finds several entries for one name; refused", { user });
        return { ok: false };
      }
      const entry = entries[0] as SearchEntry;
      if (disabledInActiveDirectory(entry)) {
        this.log("warn", "directory account is disabled (userAccountControl)", { user, dn: entry.dn });
        return { ok: false };
      }
      const bound = await connection.bind(entry.dn, password);
      if (bound.code !== RESULT.success) {
        if (bound.code !== RESULT.invalidCredentials) this.log("warn", "directory refused the user's bind", { user, result: bound.code, diagnostic: bound.diagnostic });
        return { ok: false };
      }
      return { ok: true, groups: await this.groups(connection, user, entry.dn) };
    } catch (error) {
      if (error instanceof LdapUnavailable) return { ok: false, unavailable: error.message };
      throw error;
    } finally {
      connection?.close();
    }
  }

  /** The Berth group names of the user: `group_attribute` of each entry `group_filter` finds. */
  private async groups(connection: LdapConnection, user: string, dn: string): Promise<string[]> {
    const { settings } = this;
    if (settings.groupBase === "") return [];
    // search with the service account's rights, not the user's
    await this.serviceBind(connection);
    const filter = fillFilter(settings.groupFilter, { user, dn });
    const entries = await connection.search(this.search(settings.groupBase, filter, [settings.groupAttribute], MAX_GROUPS));
    const names = entries.flatMap((entry) => entry.attributes.get(settings.groupAttribute.toLowerCase())?.slice(0, 1) ?? []);
    return [...new Set(names)];
  }

  private async serviceBind(connection: LdapConnection): Promise<void> {
    const { bindDn, bindPassword } = this.settings;
    const result = await connection.bind(bindDn, bindPassword);
    if (result.code !== RESULT.success) {
      throw new LdapUnavailable(`the directory refused the service account [auth.ldap] bind_dn (result ${result.code})`);
    }
  }

  private search(base: string, filter: string, attributes: string[], sizeLimit: number) {
    return { base, filter: encodeFilter(filter), attributes, sizeLimit, timeLimitSeconds: Math.max(1, Math.ceil(this.settings.timeoutMs / 1000)) };
  }
}

function disabledInActiveDirectory(entry: SearchEntry): boolean {
  const value = entry.attributes.get("useraccountcontrol")?.[0];
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return false;
  return (Number(value.trim()) & ACCOUNTDISABLE) !== 0;
}

/** @throws Error naming the key, when a filter of the settings cannot be parsed */
export function checkLdapFilters(settings: LdapSettings): void {
  for (const [key, template] of [["user_filter", settings.userFilter], ["group_filter", settings.groupFilter]] as const) {
    try {
      encodeFilter(fillFilter(template, { user: "user", dn: "cn=user" }));
    } catch (error) {
      throw new Error(`[auth.ldap] ${key} ${JSON.stringify(template)} is not an LDAP filter: ${(error as Error).message}`);
    }
  }
  if (!settings.userFilter.includes("{user}")) throw new Error(`[auth.ldap] user_filter must contain {user} (the login name)`);
}
