/**
 * The access controller: who is calling (anonymous, Basic credentials, or a bearer token) and
 * whether they may do what this request does. It runs in the HTTP layer before dispatch, so a
 * refused request never touches storage and its answer cannot tell whether a repository exists.
 */
import { parseRoute } from "../api/route.ts";
import type { RequestInfo } from "../hooks/types.ts";
import type { Rights } from "./account-source.ts";
import { type AccessEntry, type SigningKey, TokenError, verifyToken } from "./jwt.ts";
import { basicCredentials, type Login } from "./login.ts";
import type { Action, Caller } from "./policy.ts";
import type { AccessRights } from "./rights.ts";
import { type ChallengeOptions, denied, loginUnavailable, throttled, unauthorized } from "./responses.ts";
import { type Need, needOf, type Scope } from "./scope.ts";
import type { AuthSettings } from "./settings.ts";

export interface Identity {
  user: Caller;
  via: "anonymous" | "basic" | "token";
  /** the token's `access` claim (via token only) */
  access: AccessEntry[];
  /** rights of its own (a CI job's OIDC identity); null: the rules decide */
  rights: Rights | null;
}

/** The request may go on (possibly rewritten), or this response answers it. */
export type Decision =
  | { response: Response }
  | { request: Request; visible?: (repository: string) => boolean };

export interface ControllerParts {
  settings: AuthSettings;
  policy: AccessRights;
  login: Login;
  key: SigningKey;
}

export class AccessController {
  constructor(private readonly parts: ControllerParts) {}

  /** Authorizes a /v2/ request; sets info.actor to the caller's name ("" when anonymous). */
  async authorizeV2(request: Request, info: RequestInfo): Promise<Decision> {
    const url = new URL(request.url);
    return this.authorize(request, info, needOf(parseRoute(url.pathname), request.method, url), url);
  }

  /**
   * Authorizes a request for what it needs, answering as /v2/ does (401 with a challenge, 403);
   * a catalog need lets the request on with `visible`, the caller's pull rights. Sets info.actor.
   */
  async authorize(request: Request, info: RequestInfo, need: Need, url = new URL(request.url)): Promise<Decision> {
    if (need.kind === "admin") {
      const refused = await this.authorizeAdmin(request, info);
      return refused ? { response: refused } : { request };
    }
    if (need.kind === "namespace-admin") {
      const refused = await this.authorizeNamespaceAdmin(request, info, need.namespace);
      return refused ? { response: refused } : { request };
    }
    const scopes: Scope[] =
      need.kind === "repository"
        ? [{ type: "repository", name: need.name, actions: need.challenge }]
        : need.kind === "catalog"
          ? [{ type: "registry", name: "catalog", actions: ["*"] }]
          : [];
    const who = await this.identify(request, info.addr, scopes);
    if (who instanceof Response) return { response: who };
    info.actor = who.user ?? "";
    const { policy } = this.parts;
    const allows = (repository: string, action: Action) => (who.rights ? who.rights(repository, action) : policy.allows(who.user, repository, action));

    if (need.kind === "signed-in") {
      return who.via === "anonymous" ? { response: this.challenge(request, {}) } : { request };
    }
    if (need.kind === "catalog") {
      const visible = (name: string) => allows(name, "pull");
      if (who.via === "token" && !grants(who.access, "registry", "catalog", "*")) return { response: this.challenge(request, { scopes, error: "insufficient_scope" }) };
      if (who.via === "anonymous" && !policy.anonymousHasAccess()) return { response: this.challenge(request, { scopes }) };
      return { request, visible };
    }
    if (!this.permits(who, need.name, need.action)) {
      if (who.via === "token" && allows(need.name, need.action)) {
        return { response: this.challenge(request, { scopes, error: "insufficient_scope" }) };
      }
      return { response: who.user === null ? this.challenge(request, { scopes }) : denied(request, this.whyDenied(who, need.name, need.action)) };
    }
    if (need.mountFrom !== undefined && !this.permits(who, need.mountFrom, "pull")) {
      // the spec lets a registry answer a mount it will not do with a plain upload session
      return { request: withoutMount(request, url) };
    }
    return { request };
  }

  /** Authorizes an /api/ request: admins only. */
  async authorizeAdmin(request: Request, info: RequestInfo): Promise<Response | null> {
    const scopes: Scope[] = [{ type: "registry", name: "admin", actions: ["*"] }];
    const who = await this.identify(request, info.addr, scopes);
    if (who instanceof Response) return who;
    info.actor = who.user ?? "";
    if (who.user === null) return this.challenge(request, { scopes });
    if (who.rights !== null) return denied(request, ownRightsOnly(who.user, "the admin API"));
    if (!this.parts.policy.isAdmin(who.user)) return denied(request, this.parts.policy.whyNotAdmin(who.user));
    if (who.via === "token" && !grants(who.access, "registry", "admin", "*")) return this.challenge(request, { scopes, error: "insufficient_scope" });
    return null;
  }

  /**
   * Authorizes an /api/v1/namespaces/NS/... request: admins, and the namespace's admin members
   * (a token must carry namespace:NS:admin).
   */
  private async authorizeNamespaceAdmin(request: Request, info: RequestInfo, namespace: string): Promise<Response | null> {
    const scopes: Scope[] = [{ type: "namespace", name: namespace, actions: ["admin"] }];
    const who = await this.identify(request, info.addr, scopes);
    if (who instanceof Response) return who;
    info.actor = who.user ?? "";
    if (who.user === null) return this.challenge(request, { scopes });
    if (who.rights !== null) return denied(request, ownRightsOnly(who.user, `administering namespace ${namespace}`));
    if (!this.parts.policy.administers(who.user, namespace)) return denied(request, this.parts.policy.whyNotAdmin(who.user, namespace));
    if (who.via === "token" && !grants(who.access, "namespace", namespace, "admin")) return this.challenge(request, { scopes, error: "insufficient_scope" });
    return null;
  }

  /**
   * GET /api/v1/me: who is calling and what they may do (the web UI hides what they may not;
   * every request is still authorized on its own). Anonymous callers get an answer, not a
   * challenge; wrong credentials get the usual 401.
   */
  async me(request: Request, info: RequestInfo): Promise<Response | Record<string, unknown>> {
    const who = await this.identify(request, info.addr, []);
    if (who instanceof Response) return who;
    info.actor = who.user ?? "";
    const { policy, settings } = this.parts;
    const repository = new URL(request.url).searchParams.get("repository");
    const rights =
      repository === null || repository === ""
        ? null
        : { name: repository, pull: this.permits(who, repository, "pull"), push: this.permits(who, repository, "push"), delete: this.permits(who, repository, "delete") };
    return {
      user: who.user ?? "",
      auth: settings.mode,
      service: settings.service,
      admin: who.user !== null && policy.isAdmin(who.user),
      catalog: who.user !== null || policy.anonymousHasAccess(),
      ...(rights ? { repository: rights } : {}),
    };
  }

  /** Rights of this caller: the rules', narrowed to the token's scope when it came with one. */
  private permits(who: Identity, repository: string, action: Action): boolean {
    const allowed = who.rights ? who.rights(repository, action) : this.parts.policy.allows(who.user, repository, action);
    if (!allowed) return false;
    return who.via !== "token" || grants(who.access, "repository", repository, action);
  }

  /** Why `permits` said no (the token's scope aside: that is a 401), for the audit line. */
  private whyDenied(who: Identity, repository: string, action: Action): string {
    if (who.rights) return ownRightsOnly(who.user ?? "", `${action} on ${repository}`);
    return this.parts.policy.whyDenied(who.user, repository, action);
  }

  private async identify(request: Request, addr: string, scopes: Scope[]): Promise<Identity | Response> {
    const header = request.headers.get("authorization");
    if (header === null || header.trim() === "") return { user: null, via: "anonymous", access: [], rights: null };
    const basic = basicCredentials(header);
    if (basic !== null) {
      const result = await this.parts.login.check(basic, addr);
      if (result.ok) return { user: result.principal.name, via: "basic", access: [], rights: result.principal.rights };
      if (result.retryAfter > 0) return throttled(request, result.retryAfter);
      if (result.unavailable !== undefined) return loginUnavailable(request);
      return this.challenge(request, { scopes, message: "Invalid username or password" });
    }
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer === null || this.parts.settings.mode !== "token") {
      return this.challenge(request, { scopes, message: "Unsupported authorization scheme" });
    }
    const { settings, key, login } = this.parts;
    try {
      const claims = await verifyToken(bearer[1] as string, key, {
        issuer: settings.issuer,
        audience: settings.service,
        now: Math.floor(Date.now() / 1000),
      });
      if (claims.sub === "") return { user: null, via: "token", access: claims.access, rights: null };
      // a user removed from the htpasswd file loses access at once, not when the token ends
      const subject = login.subject(claims.sub, claims.access);
      if (subject === null) throw new TokenError("Token subject is no longer a user");
      return { user: subject.name, via: "token", access: claims.access, rights: subject.rights };
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      return this.challenge(request, { scopes, error: "invalid_token", message: error.message });
    }
  }

  private challenge(request: Request, options: ChallengeOptions): Response {
    return unauthorized(this.parts.settings, request, options);
  }
}

/** Whether a token's access claim grants `action` on the resource (`*` grants everything). */
export function grants(access: AccessEntry[], type: string, name: string, action: string): boolean {
  return access.some((entry) => entry.type === type && entry.name === name && (entry.actions.includes(action) || entry.actions.includes("*")));
}

/** A caller whose sign-in brought its own rights (an OIDC trust's grant): the rules do not apply to it. */
function ownRightsOnly(user: string, what: string): string {
  return `${user} signed in with rights of its own (an OIDC trust's grant), which do not include ${what}`;
}

function withoutMount(request: Request, url: URL): Request {
  const plain = new URL(url);
  plain.searchParams.delete("mount");
  plain.searchParams.delete("from");
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers: request.headers };
  if (request.body !== null) {
    init.body = request.body;
    init.duplex = "half";
  }
  return new Request(plain, init);
}
