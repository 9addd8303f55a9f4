/**
 * Which finished requests the audit log records, and as what: changes through /v2/ (manifest
 * pushes and deletes, blob uploads, mounts and deletes), admin calls under /api/ (anything but a
 * read), failed and throttled logins, and every 403 with its `reason` (and the `plugin` that
 * denied, for a before-hook's denial). Reads are not audited: a pull answers
 * without reaching this beyond one method test. Only the path is recorded (no query string,
 * header or body), so no credential can reach the log; an /api/ route that knows what it
 * changed (the accounts API) names it with `describeChange`, choosing the fields itself.
 */
import { parseRoute } from "../api/route.ts";
import type { AuditFields, RequestInfo } from "../hooks/types.ts";
import { denialOf } from "../http/denials.ts";
import type { AuditEntry, AuditLog } from "./log.ts";

/** What an /api/ answer changed: recorded as `action` with these fields instead of `admin.call`. */
export interface AuditChange {
  action: string;
  /** names, globs, roles, times: never a secret */
  fields: AuditFields;
}

// set by the route that made the answer, read when the request is recorded (the same object reaches app.ts)
const changes = new WeakMap<Response, AuditChange>();

/** Names the change `response` answers for, so its audit line says what changed. @returns response */
export function describeChange(response: Response, change: AuditChange): Response {
  changes.set(response, change);
  return response;
}

/** Counts of security events, for the metrics (login failures, throttled callers). */
export interface SecurityCounts {
  loginFailed(): void;
  throttled(): void;
}

/** True when `auditRequest` may record something for this answer: a cheap test for the hot path. */
export function mayAudit(method: string, status: number): boolean {
  return (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") || status === 401 || status === 403 || status === 429;
}

export function auditRequest(audit: AuditLog | undefined, security: SecurityCounts | undefined, request: Request, url: URL, info: RequestInfo, response: Response): void {
  const { status } = response;
  const path = url.pathname.slice(0, 512);
  const result: AuditEntry["result"] = status < 400 ? "ok" : status === 401 || status === 403 ? "denied" : "failed";
  const who = { actor: info.actor, addr: info.addr, requestId: info.id };
  if (status === 401 && request.headers.has("authorization")) {
    security?.loginFailed();
    audit?.record("login.failed", who, "denied", { method: request.method, path, user: basicUser(request) });
    return;
  }
  if (status === 429) {
    security?.throttled();
    audit?.record("login.throttled", who, "denied", { method: request.method, path, user: basicUser(request) });
    return;
  }
  if (!audit) return;
  const denial = status === 403 ? denialFields(response) : {};
  if (path === "/v2" || path.startsWith("/v2/")) {
    const change = v2Change(request.method, url);
    if (change) audit.record(change.action, who, result, { status, ...change.fields, ...denial });
    else if (status === 403) audit.record("access.denied", who, "denied", { method: request.method, path, status, ...denial });
    return;
  }
  if (path.startsWith("/api/") && request.method !== "GET" && request.method !== "HEAD" && request.method !== "OPTIONS") {
    const change = changes.get(response);
    audit.record(change?.action ?? "admin.call", who, result, { ...change?.fields, method: request.method, path, status, ...denial });
    return;
  }
  if (status === 403) audit.record("access.denied", who, "denied", { method: request.method, path, status, ...denial });
}

/** `reason` (and `plugin`) of a 403, as its maker noted them (a plugin route's own 403 may say nothing). */
function denialFields(response: Response): AuditFields {
  const denial = denialOf(response);
  if (denial === undefined) return {};
  return denial.plugin === undefined ? { reason: denial.reason.slice(0, 1000) } : { reason: denial.reason.slice(0, 1000), plugin: denial.plugin };
}

function v2Change(method: string, url: URL): { action: string; fields: Record<string, string> } | null {
  const route = parseRoute(url.pathname);
  if (route === null) return null;
  if (route.kind === "manifest" && method === "PUT") return { action: "manifest.push", fields: { repository: route.name, ...reference(route.reference) } };
  if (route.kind === "manifest" && method === "DELETE") {
    const ref = reference(route.reference);
    return { action: "tag" in ref ? "tag.delete" : "manifest.delete", fields: { repository: route.name, ...ref } };
  }
  if (route.kind === "blob" && method === "DELETE") return { action: "blob.delete", fields: { repository: route.name, digest: route.digest } };
  if (route.kind === "upload" && method === "PUT") return { action: "blob.push", fields: { repository: route.name, digest: (url.searchParams.get("digest") ?? "").slice(0, 200) } };
  const mount = url.searchParams.get("mount");
  if (route.kind === "uploads" && method === "POST" && mount !== null) {
    return { action: "blob.mount", fields: { repository: route.name, digest: mount.slice(0, 200), from: (url.searchParams.get("from") ?? "").slice(0, 256) } };
  }
  return null;
}

function reference(value: string): { tag: string } | { digest: string } {
  return value.includes(":") ? { digest: value } : { tag: value };
}

/** The user name of a Basic Authorization header (never the password); "" otherwise. */
function basicUser(request: Request): string {
  const header = request.headers.get("authorization") ?? "";
  if (!/^basic /i.test(header)) return "";
  try {
    const decoded = atob(header.slice(6).trim());
    const colon = decoded.indexOf(":");
    return (colon < 0 ? "" : decoded.slice(0, colon)).slice(0, 128);
  } catch {
    return "";
  }
}
