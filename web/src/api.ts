/**
 * The registry's APIs from the browser, on the same origin: /api/v1 (facts, usage, GC,
 * retention, quotas, accounts), /api/webhooks and /v2 (deletes). Signed in with the docker
 * login credentials (kept for this tab only, in sessionStorage): in token mode each request
 * carries a bearer token from the token service (/auth/token) for the scope it needs, as
 * docker does; in basic mode the credentials. The server authorizes every request itself.
 * Every failure becomes an Error whose message says what went wrong.
 */
const KEY = "berth.credentials";

/** the registry's authentication, asked once without credentials (GET /api/v1/me never challenges) */
let mode: Promise<{ auth: string; service: string }> | null = null;
/** scope → bearer token and when to stop using it */
const tokens = new Map<string, { token: string; until: number }>();

export type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function credentials(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(user: string, password: string): void {
  sessionStorage.setItem(KEY, btoa(unescape(encodeURIComponent(`${user}:${password}`))));
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  tokens.clear();
}

function modeOf(): Promise<{ auth: string; service: string }> {
  mode ??= fetch("/api/v1/me", { headers: { Accept: "application/json" } })
    .then((response) => response.json())
    .then((body: unknown) => ({ auth: str(obj(body).auth), service: str(obj(body).service) }))
    .catch(() => {
      mode = null;
      return { auth: "off", service: "" };
    });
  return mode;
}

/** The token scope a request needs, as the registry's access layer asks it. */
function scopeFor(method: string, path: string): string {
  const [pathname = path, query = ""] = path.split("?", 2);
  if (pathname === "/api/v1/me") {
    // what the caller may do there: the token service grants the part of this they have
    const repository = new URLSearchParams(query).get("repository");
    return repository ? `repository:${repository}:pull,push,delete` : "";
  }
  if (pathname === "/api/v1/repositories") return "registry:catalog:*";
  const api = /^\/api\/v1\/repositories\/(.+?)\/(tags|manifests)(\/[^/]+)?$/.exec(pathname);
  if (api && method === "GET") return `repository:${api[1]}:pull`;
  const v2 = /^\/v2\/(.+?)\/(manifests|blobs)\/[^/]+$/.exec(pathname);
  if (v2) return `repository:${v2[1]}:${method === "DELETE" ? "delete" : "pull"}`;
  return "registry:admin:*";
}

async function bearer(service: string, scope: string, basic: string): Promise<string> {
  const cached = tokens.get(scope);
  if (cached && cached.until > Date.now()) return cached.token;
  const query = new URLSearchParams({ service });
  if (scope !== "") query.set("scope", scope);
  const response = await fetch(`/auth/token?${query}`, { headers: { Authorization: `Basic ${basic}`, Accept: "application/json" } });
  const body = obj(await response.json().catch(() => ({})));
  if (!response.ok) throw new ApiError(explain(response.status, body, "/auth/token"), response.status);
  const token = str(body.token) || str(body.access_token);
  const seconds = typeof body.expires_in === "number" ? body.expires_in : 60;
  tokens.set(scope, { token, until: Date.now() + Math.max(10, seconds - 10) * 1000 });
  return token;
}

async function authorization(method: string, path: string): Promise<string | null> {
  const basic = credentials();
  if (!basic) return null;
  const { auth, service } = await modeOf();
  if (auth !== "token") return `Basic ${basic}`;
  return `Bearer ${await bearer(service, scopeFor(method, path), basic)}`;
}

function explain(status: number, body: unknown, path: string): string {
  let message = "";
  if (typeof body === "object" && body !== null && "errors" in body && Array.isArray(body.errors)) {
    const first: unknown = body.errors[0];
    if (typeof first === "object" && first !== null && "message" in first && typeof first.message === "string") message = first.message;
  }
  if (status === 401) return credentials() ? `Your sign-in was refused${message ? `: ${message}` : ""}` : "Sign in to see this";
  if (message !== "") return message;
  if (status === 403) return "You are not allowed to do this";
  if (status === 404) return `Not found: ${path}`;
  return `The registry answered ${status} for ${path}`;
}

export async function request(method: string, path: string, init: { headers?: Record<string, string>; json?: unknown } = {}): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json", ...init.headers };
  const auth = await authorization(method, path);
  if (auth) headers.Authorization = auth;
  if (init.json !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method, headers, ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }) });
  } catch {
    throw new ApiError("The registry cannot be reached", 0);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(explain(response.status, body, path), response.status);
  return body;
}

export const get = (path: string) => request("GET", path).then(obj);
export const post = (path: string, json?: unknown) => request("POST", path, json === undefined ? {} : { json }).then(obj);
export const del = (path: string) => request("DELETE", path);

/** A JSON object's fields (an empty object for anything else). */
export function obj(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}
export function arr(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(obj) : [];
}
export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}
export function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}
export function strs(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

export interface Me {
  user: string;
  auth: string;
  admin: boolean;
  catalog: boolean;
  /** the address to pull from (http.public_url's host, else this page's) */
  registry: string;
  /** which plugin APIs this registry serves */
  features: { retention: boolean; quotas: boolean; signing: boolean; webhooks: boolean; proxy: boolean; replication: boolean };
}

export async function me(): Promise<Me> {
  const body = await get("/api/v1/me");
  const features = obj(body.features);
  return {
    user: str(body.user),
    auth: str(body.auth),
    admin: body.admin === true,
    catalog: body.catalog === true,
    registry: str(body.registry) || location.host,
    features: {
      retention: features.retention === true,
      quotas: features.quotas === true,
      signing: features.signing === true,
      webhooks: features.webhooks === true,
      proxy: features.proxy === true,
      replication: features.replication === true,
    },
  };
}

export async function rights(repository: string): Promise<{ push: boolean; delete: boolean }> {
  const body = obj((await get(`/api/v1/me?repository=${encodeURIComponent(repository)}`)).repository);
  return { push: body.push === true, delete: body.delete === true };
}
