/**
 * Accounts kept in the metadata index beside the users file: robot accounts (CI tokens) and
 * namespaces with members and roles. What each is, the names they may have, and what a role
 * grants. Nothing here knows about HTTP, the database or the access layer.
 */
import { globToRegExp } from "../oci/glob.ts";

/** What a robot or a role can do on a repository (the access layer's actions). */
export type RepositoryAction = "pull" | "push" | "delete";
export const REPOSITORY_ACTIONS: readonly RepositoryAction[] = ["pull", "push", "delete"];

/** The user name a robot signs in with: `robot$<name>`, as Harbor spells it. */
export const ROBOT_PREFIX = "robot$";

/** The creator of robots made by `berth robot` (or the admin socket): no rights cap. */
export const CLI_CREATOR = "berth:cli";

export interface Robot {
  name: string;
  /** hash of the current secret (secrets.ts) */
  secretHash: string;
  /** hash of the secret before the last rotation, accepted until previousUntil (ms) */
  previousHash: string | null;
  previousUntil: number | null;
  repositories: string[];
  actions: RepositoryAction[];
  /** the namespace whose admin manages it (made through /api/v1/namespaces/NS/robots), or null */
  namespace: string | null;
  description: string;
  /** who made it: a user name, or CLI_CREATOR */
  creator: string;
  createdAt: number;
  /** ms since the epoch; null: never */
  expiresAt: number | null;
  disabled: boolean;
  lastUsedAt: number | null;
  lastUsedAddr: string | null;
}

export type Role = "admin" | "maintainer" | "developer" | "reader";
export const ROLES: readonly Role[] = ["admin", "maintainer", "developer", "reader"];

/** admin and maintainer may delete (tags and manifests); admin also manages members and robots. */
export const ROLE_ACTIONS: Record<Role, readonly RepositoryAction[]> = {
  admin: ["pull", "push", "delete"],
  maintainer: ["pull", "push", "delete"],
  developer: ["pull", "push"],
  reader: ["pull"],
};

export interface Member {
  /** a user name, or `group:NAME` for a group of [auth.groups] or of the directory */
  member: string;
  role: Role;
  addedAt: number;
}

export interface Namespace {
  /** a first path component (`team`) or a repository glob (`*\/base`, `legacy/**`) */
  name: string;
  anonymousPull: boolean;
  createdAt: number;
  members: Member[];
}

/** A problem with what was asked: bad input, a name that is taken or unknown, a right the caller lacks. */
export class AccountsError extends Error {
  constructor(
    readonly kind: "invalid" | "exists" | "not-found" | "denied",
    message: string,
  ) {
    super(message);
    this.name = "AccountsError";
  }
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const ROBOT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const GLOB = /^[a-z0-9._\-/*?]+$/;

/** @throws AccountsError unless `name` is a robot name (lower case letters, digits, . _ -; at most 64) */
export function assertRobotName(name: string): void {
  if (name.length > 64 || !ROBOT_NAME.test(name)) {
    throw new AccountsError("invalid", `Invalid robot name "${name.slice(0, 100)}": lower-case letters, digits and . _ - between them, at most 64 characters`);
  }
}

export function isGlob(name: string): boolean {
  return name.includes("*") || name.includes("?");
}

/** @throws AccountsError unless `glob` is a repository glob (the [[access]] dialect) */
export function assertRepositoryGlob(glob: string): void {
  if (glob === "" || glob.length > 255 || !GLOB.test(glob) || glob.startsWith("/") || glob.endsWith("/") || glob.includes("//")) {
    throw new AccountsError("invalid", `Invalid repository glob "${glob.slice(0, 100)}": a repository name with * (within a path component) or ** (across them), e.g. team/**`);
  }
}

/** @throws AccountsError unless `name` is one path component or a repository glob */
export function assertNamespaceName(name: string): void {
  if (isGlob(name)) return assertRepositoryGlob(name);
  if (name.length > 255 || !COMPONENT.test(name)) {
    throw new AccountsError("invalid", `Invalid namespace "${name.slice(0, 100)}": a repository's first path component (team) or a repository glob (*/base)`);
  }
}

/** @throws AccountsError unless `member` is a user name or group:NAME (robots are not members) */
export function assertMemberName(member: string): void {
  if (member === "" || member.length > 256 || /[\s:]/.test(member.replace(/^group:/, "")) || member.startsWith(ROBOT_PREFIX)) {
    throw new AccountsError("invalid", `Invalid member "${member.slice(0, 100)}": a user name, or group:NAME for a group of [auth.groups] or of the directory (robots cannot be members)`);
  }
}

export function parseRole(value: string): Role {
  const role = ROLES.find((candidate) => candidate === value);
  if (role === undefined) throw new AccountsError("invalid", `Unknown role "${value.slice(0, 50)}": one of ${ROLES.join(", ")}`);
  return role;
}

/** pull, push, delete or `*` (all three) -> the actions, sorted as REPOSITORY_ACTIONS. */
export function parseActions(values: readonly string[]): RepositoryAction[] {
  if (values.length === 0) throw new AccountsError("invalid", "A robot needs at least one action: pull, push, delete or *");
  const wanted = new Set<string>();
  for (const value of values) {
    if (value === "*") REPOSITORY_ACTIONS.forEach((action) => wanted.add(action));
    else if (REPOSITORY_ACTIONS.some((action) => action === value)) wanted.add(value);
    else throw new AccountsError("invalid", `Unknown action "${value.slice(0, 50)}": pull, push, delete or *`);
  }
  return REPOSITORY_ACTIONS.filter((action) => wanted.has(action));
}

/** Whether a repository is in a namespace: its first path component, or the glob. */
export function namespaceMatcher(name: string): (repository: string) => boolean {
  if (isGlob(name)) {
    const pattern = globToRegExp(name);
    return (repository) => pattern.test(repository);
  }
  return (repository) => repository === name || repository.startsWith(`${name}/`);
}

/**
 * Whether every repository `glob` names lies inside namespace `namespace` (a namespace admin may
 * make robots only there): below a first-component namespace, or the namespace glob itself or a
 * narrower one below its `…/**`. What this misses, the rights cap at use still catches.
 */
export function globWithinNamespace(glob: string, namespace: string): boolean {
  if (!isGlob(namespace)) return glob.startsWith(`${namespace}/`) || glob === namespace;
  if (glob === namespace) return true;
  return namespace.endsWith("/**") && !isGlob(namespace.slice(0, -3)) && glob.startsWith(namespace.slice(0, -2));
}

/** Whether a robot may sign in at `now`. */
export function robotUsable(robot: Robot, now: number): boolean {
  return !robot.disabled && (robot.expiresAt === null || robot.expiresAt > now);
}
