/**
 * GET /auth/token, the built-in token service of Docker's token authentication: Basic
 * credentials (or none, for anonymous) plus `service` and `scope` parameters; answers
 * {token, access_token, expires_in, issued_at}. The granted scope is the intersection of what
 * was asked and what the rules allow; asking for more than one may have is not an error.
 * POST with an OAuth2 password grant (what containerd tries first) works the same way.
 */
import { readLimitedBody } from "../api/body.ts";
import { errorResponse, HttpError } from "../api/errors.ts";
import { RegistryError } from "../oci/errors.ts";
import type { RequestInfo } from "../hooks/types.ts";
import { assertRepositoryName } from "../oci/name.ts";
import { type AccessEntry, type SigningKey, signToken } from "./jwt.ts";
import { type BasicCredentials, basicCredentials, type Login } from "./login.ts";
import { ACTIONS, type Caller } from "./policy.ts";
import type { AccessRights } from "./rights.ts";
import type { Rights } from "./account-source.ts";
import { loginUnavailable, throttled, unauthorized } from "./responses.ts";
import { parseScopes, type Scope } from "./scope.ts";
import type { AuthSettings } from "./settings.ts";

export interface TokenServiceParts {
  settings: AuthSettings;
  policy: AccessRights;
  login: Login;
  key: SigningKey;
}

interface TokenRequest {
  credentials: BasicCredentials | null;
  service: string | null;
  scopes: Scope[];
}

export class TokenService {
  constructor(private readonly parts: TokenServiceParts) {}

  async handle(request: Request, info: RequestInfo): Promise<Response> {
    const parsed = await readTokenRequest(request);
    if (parsed instanceof Response) return parsed;
    const { settings, login } = this.parts;
    if (parsed === UNUSABLE) {
      return unauthorized({ ...settings, mode: "basic" }, request, { message: "Credentials could not be read: expected a user name and a password" });
    }
    if (parsed.service !== null && parsed.service !== settings.service) {
      return badRequest(request, `Unknown service "${parsed.service.slice(0, 100)}"; this registry is "${settings.service}"`);
    }
    let caller: Caller = null;
    let rights: Rights | null = null;
    if (parsed.credentials !== null) {
      const result = await login.check(parsed.credentials, info.addr);
      if (!result.ok) {
        if (result.retryAfter > 0) return throttled(request, result.retryAfter);
        if (result.unavailable !== undefined) return loginUnavailable(request);
        // the token service itself takes Basic credentials, whatever the registry's mode
        return unauthorized({ ...settings, mode: "basic" }, request, { message: "Invalid username or password" });
      }
      caller = result.principal.name;
      rights = result.principal.rights;
    }
    info.actor = caller ?? "";
    return Response.json(await this.issue(caller, this.grant(caller, parsed.scopes, rights)), { headers: { "Cache-Control": "no-store", Pragma: "no-cache" } });
  }

  /** A signed token for `caller` carrying `access`, in the token service's answer shape. */
  async issue(caller: Caller, access: AccessEntry[]): Promise<{ token: string; access_token: string; expires_in: number; issued_at: string }> {
    const { settings } = this.parts;
    const issued = Math.floor(Date.now() / 1000);
    const token = await signToken(
      {
        iss: settings.issuer,
        sub: caller ?? "",
        aud: settings.service,
        exp: issued + settings.tokenTtlSeconds,
        nbf: issued,
        iat: issued,
        jti: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url"),
        access,
      },
      this.parts.key,
    );
    return { token, access_token: token, expires_in: settings.tokenTtlSeconds, issued_at: new Date(issued * 1000).toISOString() };
  }

  /** What of `scopes` the rules (or `rights`, the caller's own) give `caller`; scopes it may have none of are left out. */
  grant(caller: Caller, scopes: Scope[], rights: Rights | null = null): AccessEntry[] {
    const { policy } = this.parts;
    const granted = new Map<string, AccessEntry>();
    const add = (type: string, name: string, actions: string[]) => {
      if (actions.length === 0) return;
      const key = `${type}:${name}`;
      const entry = granted.get(key) ?? { type, name, actions: [] };
      for (const action of actions) if (!entry.actions.includes(action)) entry.actions.push(action);
      granted.set(key, entry);
    };
    for (const scope of scopes) {
      if (scope.type === "repository" && isRepositoryName(scope.name)) {
        const wanted = scope.actions.includes("*") ? ACTIONS : scope.actions;
        const allowed = rights ? new Set(ACTIONS.filter((action) => rights(scope.name, action))) : policy.allowed(caller, scope.name);
        add("repository", scope.name, ACTIONS.filter((action) => wanted.includes(action) && allowed.has(action)));
      } else if (scope.type === "registry" && scope.actions.includes("*")) {
        if (scope.name === "catalog" && (caller !== null || policy.anonymousHasAccess())) add("registry", "catalog", ["*"]);
        if (scope.name === "admin" && rights === null && policy.isAdmin(caller)) add("registry", "admin", ["*"]);
      } else if (scope.type === "namespace" && scope.actions.includes("admin") && rights === null && policy.administers(caller, scope.name)) {
        add("namespace", scope.name, ["admin"]);
      }
    }
    return [...granted.values()];
  }
}

function isRepositoryName(name: string): boolean {
  try {
    assertRepositoryName(name);
    return true;
  } catch {
    return false;
  }
}

/** Credentials were sent but cannot be read: a failed login, never an anonymous token. */
const UNUSABLE = Symbol("unusable credentials");

async function readTokenRequest(request: Request): Promise<TokenRequest | Response | typeof UNUSABLE> {
  const url = new URL(request.url);
  if (request.method === "GET" || request.method === "HEAD") {
    const header = request.headers.get("authorization");
    const credentials = basicCredentials(header);
    if (header !== null && header.trim() !== "" && credentials === null) return UNUSABLE;
    return {
      credentials,
      service: url.searchParams.get("service"),
      scopes: url.searchParams.getAll("scope").flatMap(parseScopes),
    };
  }
  if (request.method !== "POST") {
    const error = new HttpError("UNSUPPORTED", { message: `${request.method} is not supported on /auth/token`, headers: { Allow: "GET, POST" } });
    return errorResponse(error, request.method);
  }
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return badRequest(request, "POST /auth/token takes an application/x-www-form-urlencoded body");
  let text: string;
  try {
    text = new TextDecoder().decode(await readLimitedBody(request, 64 * 1024, "A token request body is limited to LIMIT bytes"));
  } catch (error) {
    if (error instanceof RegistryError) return errorResponse(error, request.method);
    throw error;
  }
  const form = new URLSearchParams(text);
  if (form.get("grant_type") !== "password") return badRequest(request, 'Only grant_type "password" is supported');
  const username = form.get("username");
  const password = form.get("password");
  // a user name without a usable password is a failed login, not an anonymous request
  if (username !== null && password === null) return UNUSABLE;
  return {
    credentials: username === null || password === null ? null : { user: username, password },
    service: form.get("service"),
    scopes: form.getAll("scope").flatMap(parseScopes),
  };
}

function badRequest(request: Request, message: string): Response {
  return errorResponse(new HttpError("UNSUPPORTED", { status: 400, message }), request.method);
}
