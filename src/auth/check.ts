/**
 * The access layer's start-up checks, without starting anything: the users file can be read,
 * and the rules compile. `serve` and `berth config check` both run them.
 */
import type { ResolvedConfig } from "../config/resolve.ts";
import { HtpasswdFile, type HtpasswdEntries } from "./htpasswd.ts";
import { Policy } from "./policy.ts";
import { createAccountSources } from "./sources.ts";

/** The users file's entries (null when authentication is off). @throws Error for the operator */
export function checkAuthConfig(config: Pick<ResolvedConfig, "auth" | "access">, configFile: string | null): HtpasswdEntries | null {
  if (config.auth.htpasswd === "") {
    if (config.access.length > 0 || config.auth.admins.length > 0) {
      throw new Error("[[access]] rules and [auth] admins need [auth] htpasswd (the users file); without it authentication is off");
    }
    if (config.auth.ldap !== null || config.auth.oidcTrust.length > 0) {
      throw new Error("[auth.ldap] and [[auth.oidc_trust]] need [auth] htpasswd, which turns authentication on (the file may be empty)");
    }
    return null;
  }
  const path = config.auth.htpasswd;
  let entries: HtpasswdEntries;
  try {
    entries = new HtpasswdFile(path, () => {}).load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`Cannot read [auth] htpasswd file ${path}: ${code === "ENOENT" ? "no such file" : code} (create it with: berth user add NAME${configFile ? ` --config ${configFile}` : ` --file ${path}`})`);
  }
  const sources = createAccountSources(config, () => {});
  new Policy({ admins: config.auth.admins, groups: config.auth.groups, access: config.access, ...(sources.directory ? { groupsOf: () => [] } : {}) });
  return entries;
}
