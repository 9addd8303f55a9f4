/**
 * File paths in the configuration are resolved once, where they come from: a relative path in
 * a config file is relative to that file's directory; one from a variable, a flag or a default
 * is relative to the working directory. The rest of Berth sees absolute paths only.
 */
import { isAbsolute, resolve } from "node:path";
import { isTree, type Tree } from "./tree.ts";

/** Keys whose value is a file or directory path. */
export const PATH_KEYS = ["storage.root", "auth.htpasswd", "http.tls.certificate", "http.tls.key", "http.tls.client_ca", "auth.ldap.ca_file", "audit.path"] as const;

function absolute(value: unknown, base: string): unknown {
  return typeof value === "string" && value !== "" && !isAbsolute(value) ? resolve(base, value) : value;
}

/** A copy of `tree` with its relative paths (PATH_KEYS, [[plugins]] path, [[signing.policies]] keys and roots) made absolute against `base`. */
export function resolvePaths<T extends Tree>(tree: T, base: string): T {
  const copy = structuredClone(tree);
  for (const key of PATH_KEYS) {
    const [section, ...rest] = key.split(".");
    let node: unknown = copy[section as string];
    for (const part of rest.slice(0, -1)) node = isTree(node) ? node[part] : undefined;
    const leaf = rest[rest.length - 1] as string;
    if (isTree(node) && leaf in node) node[leaf] = absolute(node[leaf], base);
  }
  if (Array.isArray(copy.plugins)) {
    for (const plugin of copy.plugins) if (isTree(plugin)) plugin.path = absolute(plugin.path, base);
  }
  const policies = isTree(copy.signing) ? copy.signing.policies : undefined;
  for (const policy of Array.isArray(policies) ? policies : []) {
    if (!isTree(policy)) continue;
    for (const key of ["keys", "roots"]) {
      const files = policy[key];
      if (Array.isArray(files)) policy[key] = files.map((file: unknown) => absolute(file, base));
    }
  }
  return copy;
}
