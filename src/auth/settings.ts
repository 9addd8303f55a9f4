/** The access layer's settings, taken from `[auth]` and `[http]` once at start. */
import type { ResolvedConfig } from "../config/resolve.ts";

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

export function authSettings(config: Pick<ResolvedConfig, "auth" | "http">): AuthSettings {
  return {
    mode: config.auth.mode,
    realm: config.auth.realm,
    service: config.auth.service,
    issuer: TOKEN_ISSUER,
    publicUrl: config.http.publicUrl,
    // tokens carry whole seconds (exp, expires_in)
    tokenTtlSeconds: Math.max(1, Math.round(config.auth.tokenTtlMs / 1000)),
  };
}
