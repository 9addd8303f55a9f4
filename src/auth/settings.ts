/** The access layer's settings, taken from `[auth]` and `[http]` once at start. */
import { dirname, isAbsolute, resolve } from "node:path";
import { type Config, parseDuration } from "../config/schema.ts";

export interface AuthSettings {
  mode: "basic" | "token";
  /** the Basic realm */
  realm: string;
  /** the token audience (`aud`) and the challenge's `service` */
  service: string;
  /** the token issuer (`iss`) */
  issuer: string;
  /** external base URL without a trailing slash, or "" */
  publicUrl: string;
  tokenTtlSeconds: number;
}

export const TOKEN_ISSUER = "berth";

export function authSettings(config: Config): AuthSettings {
  return {
    mode: config.auth.mode,
    realm: config.auth.realm,
    service: config.auth.service,
    issuer: TOKEN_ISSUER,
    publicUrl: config.http.public_url.replace(/\/+$/, ""),
    tokenTtlSeconds: Math.max(1, Math.round(parseDuration(config.auth.token_ttl) / 1000)),
  };
}

/** A path from the config file, relative to that file's directory (or the working directory). */
export function configRelative(path: string, configFile: string | null): string {
  if (isAbsolute(path)) return path;
  return resolve(configFile === null ? "." : dirname(resolve(configFile)), path);
}
