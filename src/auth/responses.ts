/**
 * The answers the access layer gives instead of the registry's: 401 with a challenge, 403
 * DENIED, 429 TOOMANYREQUESTS. All in the spec's error envelope and with the API version
 * header, which `docker login` checks even on a 401. None says whether a repository exists.
 */
import { errorResponse, HttpError } from "../api/errors.ts";
import { noteDenial } from "../http/denials.ts";
import { RegistryError } from "../oci/errors.ts";
import type { AuthSettings } from "./settings.ts";
import { formatScope, type Scope } from "./scope.ts";

export type ChallengeError = "invalid_token" | "insufficient_scope";

export interface ChallengeOptions {
  scopes?: Scope[];
  error?: ChallengeError;
  message?: string;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** The realm of the token service: public_url, else the request's own scheme and host. */
export function tokenRealm(settings: AuthSettings, request: Request): string {
  if (settings.publicUrl !== "") return `${settings.publicUrl}/auth/token`;
  const url = new URL(request.url);
  const forwarded = request.headers.get("x-forwarded-proto");
  const scheme = forwarded === "http" || forwarded === "https" ? forwarded : url.protocol.slice(0, -1);
  return `${scheme}://${url.host}/auth/token`;
}

export function challengeHeader(settings: AuthSettings, request: Request, options: ChallengeOptions = {}): string {
  if (settings.mode === "basic") return `Basic realm=${quote(settings.realm)}`;
  let header = `Bearer realm=${quote(tokenRealm(settings, request))},service=${quote(settings.service)}`;
  const scopes = options.scopes ?? [];
  if (scopes.length > 0) header += `,scope=${quote(scopes.map(formatScope).join(" "))}`;
  if (options.error) header += `,error=${quote(options.error)}`;
  return header;
}

function withApiVersion(response: Response): Response {
  response.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return response;
}

/** 401 UNAUTHORIZED with the challenge for this mode. */
export function unauthorized(settings: AuthSettings, request: Request, options: ChallengeOptions = {}): Response {
  const detail = (options.scopes ?? []).flatMap((scope) => scope.actions.map((action) => ({ Type: scope.type, Name: scope.name, Action: action })));
  const error = new RegistryError("UNAUTHORIZED", {
    ...(options.message === undefined ? {} : { message: options.message }),
    ...(detail.length > 0 ? { detail } : {}),
  });
  return withApiVersion(errorResponse(error, request.method, { "WWW-Authenticate": challengeHeader(settings, request, options) }));
}

/** 403 DENIED: the caller is known and may not do this. `reason` goes to the audit log, not to the client. */
export function denied(request: Request, reason: string): Response {
  return noteDenial(withApiVersion(errorResponse(new RegistryError("DENIED"), request.method)), { reason });
}

/** 429 TOOMANYREQUESTS with Retry-After (seconds). */
export function throttled(request: Request, seconds: number): Response {
  const error = new RegistryError("TOOMANYREQUESTS", { message: `Too many failed logins; try again in ${seconds} s` });
  return withApiVersion(errorResponse(error, request.method, { "Retry-After": String(seconds) }));
}

/** 503: the directory (or OIDC issuer) cannot answer, so the login could be neither accepted nor refused. */
export function loginUnavailable(request: Request): Response {
  const error = new HttpError("UNKNOWN", { status: 503, message: "The user directory or identity provider does not answer; try again later", headers: { "Retry-After": "10" } });
  return withApiVersion(errorResponse(error, request.method));
}
