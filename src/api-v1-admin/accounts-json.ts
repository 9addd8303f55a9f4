/**
 * The JSON of the accounts API (docs/api.md): request bodies read without trusting their
 * shape, and robots and namespaces as answers (times in ISO 8601, secrets never, hashes never).
 */
import { readLimitedBody } from "../api/body.ts";
import { HttpError } from "../api/errors.ts";
import type { RobotRequest } from "../accounts/accounts.ts";
import { type Namespace, parseRole, ROBOT_PREFIX, type Robot, type Role } from "../accounts/model.ts";
import { parseDuration } from "../util/duration.ts";

type Fields = Record<string, unknown>;

export function badRequest(message: string): HttpError {
  return new HttpError("UNSUPPORTED", { status: 400, message });
}

/** The request's JSON object (an empty body is `{}`). @throws HttpError 400 / 413 */
export async function readObject(request: Request): Promise<Fields> {
  const text = new TextDecoder().decode(await readLimitedBody(request, 64 * 1024, "An accounts API body is limited to LIMIT bytes"));
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("The body is not JSON");
  }
  if (!isFields(value)) throw badRequest("The body must be a JSON object");
  return value;
}

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringField(body: Fields, key: string, fallback?: string): string {
  const value = body[key];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string") throw badRequest(`"${key}" must be a string`);
  return value;
}

function stringList(body: Fields, key: string): string[] {
  const value = body[key];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string")) throw badRequest(`"${key}" must be an array of strings`);
  return value;
}

function booleanField(body: Fields, key: string, fallback?: boolean): boolean {
  const value = body[key];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "boolean") throw badRequest(`"${key}" must be true or false`);
  return value;
}

/** A duration ("90d", "24h") or, where `never` is allowed, null / "never". */
function durationField(body: Fields, key: string, fallback: string): number | null {
  const value = body[key] ?? fallback;
  if (value === null || value === "never") return null;
  if (typeof value !== "string") throw badRequest(`"${key}" must be a duration such as "90d" or "never"`);
  try {
    return parseDuration(value);
  } catch {
    throw badRequest(`"${key}": cannot parse duration "${value.slice(0, 50)}" (a whole number and ms, s, m, h or d, e.g. "90d")`);
  }
}

/** POST /api/v1/robots: {name, repositories, actions, expires?: "90d" | "never", description?} */
export function robotRequestOf(body: Fields, namespace: string | null): RobotRequest {
  return {
    name: stringField(body, "name"),
    repositories: stringList(body, "repositories"),
    actions: stringList(body, "actions"),
    expiresInMs: durationField(body, "expires", "never"),
    description: stringField(body, "description", ""),
    namespace,
  };
}

/** POST …/rotate: {grace?: "24h"}; ms the old secret stays valid (0 by default). */
export function graceOf(body: Fields): number {
  return durationField(body, "grace", "0s") ?? 0;
}

export function memberOf(body: Fields): { member: string; role: Role } {
  const role = stringField(body, "role");
  try {
    return { member: stringField(body, "member"), role: parseRole(role) };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw badRequest(error instanceof Error ? error.message : String(error));
  }
}

export function namespaceRequestOf(body: Fields): { name: string; anonymousPull: boolean } {
  return { name: stringField(body, "name"), anonymousPull: booleanField(body, "anonymous_pull", false) };
}

export function enabledOf(body: Fields): boolean {
  return booleanField(body, "enabled");
}

function time(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function robotJson(robot: Robot, now = Date.now()) {
  return {
    name: robot.name,
    user: `${ROBOT_PREFIX}${robot.name}`,
    repositories: robot.repositories,
    actions: robot.actions,
    namespace: robot.namespace,
    description: robot.description,
    creator: robot.creator,
    created_at: time(robot.createdAt),
    expires_at: time(robot.expiresAt),
    expired: robot.expiresAt !== null && robot.expiresAt <= now,
    disabled: robot.disabled,
    last_used_at: time(robot.lastUsedAt),
    last_used_addr: robot.lastUsedAddr,
    previous_secret_valid_until: robot.previousUntil !== null && robot.previousUntil > now ? time(robot.previousUntil) : null,
  };
}

export function namespaceJson(namespace: Namespace) {
  return {
    name: namespace.name,
    anonymous_pull: namespace.anonymousPull,
    created_at: time(namespace.createdAt),
    members: namespace.members.map((member) => ({ member: member.member, role: member.role, added_at: time(member.addedAt) })),
  };
}

export function rotatedJson(name: string, secret: string, previousUntil: number | null) {
  return { name, user: `${ROBOT_PREFIX}${name}`, secret, previous_secret_valid_until: time(previousUntil) };
}
