/**
 * POST /auth/oidc: a CI job trades its OIDC ID token for a short registry token, for tools
 * that take a bearer token (skopeo --registry-token, curl). The body is a form
 * (`token=<ID token>&scope=repository:org/app:pull,push`) or JSON
 * (`{"token": "...", "scope": ["repository:org/app:pull,push"]}`); `service` may be given as
 * for /auth/token. The answer has /auth/token's shape; its access is what was asked for,
 * narrowed to what the matching `[[auth.oidc_trust]]` entries allow.
 */
import { readLimitedBody } from "../../api/body.ts";
import { errorResponse, HttpError } from "../../api/errors.ts";
import type { RequestInfo } from "../../hooks/types.ts";
import { RegistryError } from "../../oci/errors.ts";
import { loginUnavailable, unauthorized } from "../responses.ts";
import { parseScopes, type Scope } from "../scope.ts";
import type { AuthSettings } from "../settings.ts";
import type { TokenService } from "../token-endpoint.ts";
import type { OidcTrust } from "./source.ts";

interface ExchangeRequest {
  token: string;
  service: string | null;
  scopes: Scope[];
}

export async function handleOidcExchange(request: Request, info: RequestInfo, settings: AuthSettings, trust: OidcTrust | null, tokens: TokenService): Promise<Response> {
  if (trust === null) return errorResponse(new RegistryError("NOT_FOUND", { message: "No [[auth.oidc_trust]] is configured" }), request.method);
  if (request.method !== "POST") {
    return errorResponse(new HttpError("UNSUPPORTED", { message: `${request.method} is not supported on /auth/oidc`, headers: { Allow: "POST" } }), request.method);
  }
  const parsed = await readExchangeRequest(request);
  if (typeof parsed === "string") return badRequest(request, parsed);
  if (parsed.service !== null && parsed.service !== settings.service) {
    return badRequest(request, `Unknown service "${parsed.service.slice(0, 100)}"; this registry is "${settings.service}"`);
  }
  const verdict = await trust.check(parsed.token);
  if (!verdict.ok) {
    if (verdict.unavailable) return loginUnavailable(request);
    return unauthorized({ ...settings, mode: "basic" }, request, { message: `OIDC token refused: ${verdict.reason}` });
  }
  const { principal } = verdict;
  info.actor = principal.name;
  const body = await tokens.issue(principal.name, tokens.grant(principal.name, parsed.scopes, principal.rights));
  return Response.json(body, { headers: { "Cache-Control": "no-store", Pragma: "no-cache" } });
}

/** The request, or why it cannot be read. */
async function readExchangeRequest(request: Request): Promise<ExchangeRequest | string> {
  const type = request.headers.get("content-type") ?? "";
  let text: string;
  try {
    text = new TextDecoder().decode(await readLimitedBody(request, 64 * 1024, "An exchange request body is limited to LIMIT bytes"));
  } catch (error) {
    if (error instanceof RegistryError) return error.message;
    throw error;
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    const form = new URLSearchParams(text);
    const token = form.get("token");
    if (token === null || token === "") return "The form needs token=<the OIDC ID token>";
    return { token, service: form.get("service"), scopes: form.getAll("scope").flatMap(parseScopes) };
  }
  if (type.startsWith("application/json")) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return "The body is not JSON";
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return 'The body must be a JSON object {"token": "..."}';
    const { token, service, scope } = body as Record<string, unknown>;
    if (typeof token !== "string" || token === "") return 'The JSON body needs "token": the OIDC ID token';
    if (service !== undefined && typeof service !== "string") return '"service" must be a string';
    const scopes = scope === undefined ? [] : typeof scope === "string" ? [scope] : isStrings(scope) ? scope : null;
    if (scopes === null) return '"scope" must be a string or a list of strings';
    return { token, service: service ?? null, scopes: scopes.flatMap(parseScopes) };
  }
  return "POST /auth/oidc takes an application/x-www-form-urlencoded or application/json body";
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item: unknown) => typeof item === "string");
}

function badRequest(request: Request, message: string): Response {
  return errorResponse(new HttpError("UNSUPPORTED", { status: 400, message }), request.method);
}
