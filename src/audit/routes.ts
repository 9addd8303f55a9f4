/**
 * `GET /api/v1/audit?since=&actor=&repository=&limit=`: the audit log's newest entries that
 * match, oldest first (admins only once [auth] is on: it lives under /api/). `since` is an
 * RFC 3339 time; `limit` at most 10000 (default 1000).
 */
import { errorResponse, HttpError } from "../api/errors.ts";
import type { PluginRoutes } from "../plugins-host/routes.ts";
import type { AuditLog, AuditQuery } from "./log.ts";

const MAX_LIMIT = 10_000;

export function addAuditRoutes(routes: PluginRoutes, audit: AuditLog): void {
  routes.add("GET", "/api/v1/audit", (request, { url }) => {
    const query = auditQueryOf(url.searchParams);
    if (typeof query === "string") return errorResponse(new HttpError("UNSUPPORTED", { status: 400, message: query }), request.method);
    return Response.json({ entries: audit.query(query) });
  });
}

/** The query, or what is wrong with it. */
export function auditQueryOf(params: URLSearchParams): AuditQuery | string {
  const query: AuditQuery = { limit: 1000 };
  const since = params.get("since");
  if (since !== null && since !== "") {
    const time = Date.parse(since);
    if (!/^\d{4}-\d\d-\d\d/.test(since) || Number.isNaN(time)) return `since must be an RFC 3339 time such as 2026-01-31T12:00:00Z (got "${since.slice(0, 64)}")`;
    query.since = new Date(time);
  }
  const actor = params.get("actor");
  if (actor !== null && actor !== "") query.actor = actor;
  const repository = params.get("repository");
  if (repository !== null && repository !== "") query.repository = repository;
  const limit = params.get("limit");
  if (limit !== null && limit !== "") {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) return `limit must be a number from 1 to ${MAX_LIMIT} (got "${limit.slice(0, 16)}")`;
    query.limit = Number(limit);
  }
  return query;
}
