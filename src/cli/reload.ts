/**
 * What SIGHUP may change while Berth serves: the users file, access rules, webhook endpoints,
 * signing policies (their key and root files read again), http.headers, CORS and the TLS
 * certificate and key. Anything else needs a restart; a changed key of that kind is logged,
 * and the running value stays.
 */
import { isDeepStrictEqual } from "node:util";
import type { Config } from "../config/schema.ts";
import { getPath, type Tree } from "../config/tree.ts";

/** Keys whose new value takes effect on SIGHUP. */
export const RELOADED_KEYS = ["auth", "access", "http.headers", "http.cors", "http.tls", "webhook", "retention", "immutable", "quota", "signing"] as const;

const RESTART_KEYS = ["http.addr", "http.public_url", "storage", "metadata", "gc", "limits", "hooks", "plugins", "log", "metrics", "audit"] as const;

/** The keys whose change a reload cannot apply. */
export function keysNeedingRestart(running: Config, next: Config): string[] {
  const value = (config: Config, key: string) => getPath(config as unknown as Tree, key);
  return RESTART_KEYS.filter((key) => !isDeepStrictEqual(value(running, key), value(next, key)));
}

/** Runs reloads one at a time, in the order the signals came. */
export function serialised(task: () => Promise<void>): () => Promise<void> {
  let chain = Promise.resolve();
  return () => (chain = chain.then(task, task));
}
