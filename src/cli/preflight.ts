/**
 * Every check `serve` makes before it starts anything: the listen address, the storage root,
 * the TLS key pair, the users file and access rules, the plugins. `berth config check` runs
 * the same, so it fails exactly where `serve` would refuse.
 */
import { resolveS3Settings } from "../storage/s3/settings.ts";
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import { checkAuthConfig } from "../auth/check.ts";
import { loadTls, type TlsOptions } from "../auth/tls.ts";
import type { LoadedConfig } from "../config/load.ts";
import { configuredHeaders } from "../http/configured-headers.ts";
import { createCors } from "../http/cors.ts";
import { checkPluginConfig } from "./plugins.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** "host:port", ":port" or "[v6]:port". @throws RangeError */
export function parseListenAddress(addr: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new RangeError(`Cannot parse http.addr "${addr}": expected host:port, e.g. 0.0.0.0:5000`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** Whether only this machine can reach `hostname` (then an open registry is no risk worth a warning). */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

export interface Checked {
  address: ListenAddress;
  tls: TlsOptions | null;
}

/** @throws Error with one line for the operator */
export async function preflight({ resolved, file }: Pick<LoadedConfig, "resolved" | "file">): Promise<Checked> {
  const address = parseListenAddress(resolved.http.addr);
  checkStorageRoot(resolved.storage.root);
  if (resolved.storage.driver === "s3") resolveS3Settings(resolved.storage.s3, resolved.storage.redirect); // bucket and credentials given
  const tls = loadTls(resolved.http.tls);
  createCors(resolved.http.cors);
  configuredHeaders(resolved.http.headers, { cors: resolved.http.cors.origins.length > 0 });
  checkAuthConfig(resolved, file);
  await checkPluginConfig(resolved);
  return { address, tls };
}

/** The root is a directory, or can be made: its nearest existing ancestor is writable. */
function checkStorageRoot(root: string): void {
  for (let path = root; ; path = dirname(path)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      if (dirname(path) === path) break;
      continue;
    }
    if (!isDirectory) throw new Error(`storage.root ${root}: ${path} is not a directory`);
    // an existing root that is read-only still serves pulls (serve warns); a new one must be made
    if (path === root) return;
    try {
      accessSync(path, constants.W_OK | constants.X_OK);
    } catch {
      throw new Error(`storage.root ${root}: cannot create it: ${path} is not writable`);
    }
    return;
  }
}
