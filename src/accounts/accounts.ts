/**
 * Robots and namespaces: their rules (names, globs, expiry, rotation) over the rows in the
 * metadata index, and the snapshot the access layer reads.
 *
 * A change takes effect at once: every write here drops the snapshot, and the server makes
 * every change itself (`berth robot` and `berth ns` ask it through the admin socket while it
 * runs). A snapshot is also read again when older than `maxAgeMs`, for a change another
 * process made in a shared PostgreSQL database. A read that raced with a write is not kept.
 */
import type { Logger } from "../log.ts";
import type { MetadataDatabase } from "../metadata/database.ts";
import {
  AccountsError,
  assertMemberName,
  assertNamespaceName,
  assertRepositoryGlob,
  assertRobotName,
  globWithinNamespace,
  type Namespace,
  parseActions,
  type Role,
  type Robot,
} from "./model.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import { AccountsSnapshot } from "./snapshot.ts";
import { AccountsStore } from "./store.ts";

export interface RobotRequest {
  name: string;
  repositories: string[];
  actions: string[];
  /** from now; null: never expires */
  expiresInMs: number | null;
  description: string;
  /** made by this namespace's admin: every glob must lie inside it */
  namespace: string | null;
}

export interface AccountsOptions {
  /** how long a snapshot serves before it is read again (changes made here drop it at once) */
  maxAgeMs?: number;
  /** how often a robot's last use is written at most */
  useRecordMs?: number;
  now?: () => number;
}

/** How long before its expiry a robot is announced (logged and emitted, once a day). */
export const EXPIRY_NOTICE_MS = 7 * 86_400_000;
const NOTICE_EVERY_MS = 23 * 3_600_000;

export class Accounts {
  private readonly store: AccountsStore;
  private snapshot = AccountsSnapshot.empty();
  /** bumped by every write; a snapshot read under an older one is stale */
  private generation = 1;
  private snapshotGeneration = 0;
  private loading: { generation: number; promise: Promise<AccountsSnapshot> } | null = null;
  private readonly lastRecorded = new Map<string, number>();
  private readonly maxAgeMs: number;
  private readonly useRecordMs: number;
  private readonly now: () => number;

  constructor(
    database: MetadataDatabase,
    private readonly log: Logger,
    options: AccountsOptions = {},
  ) {
    this.store = new AccountsStore(database);
    this.maxAgeMs = options.maxAgeMs ?? 2_000;
    this.useRecordMs = options.useRecordMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The snapshot last read (synchronous: the access layer's checks after `fresh`). */
  current(): AccountsSnapshot {
    return this.snapshot;
  }

  /** The snapshot, read again when a change was made or it is older than maxAgeMs. */
  async fresh(): Promise<AccountsSnapshot> {
    if (this.snapshotGeneration === this.generation && this.now() - this.snapshot.readAt < this.maxAgeMs) return this.snapshot;
    // bounded: a write landing during each read asks for one more
    for (let attempt = 0; attempt < 3; attempt++) {
      const generation = this.generation;
      const loading = this.loading?.generation === generation ? this.loading.promise : this.load(generation);
      const snapshot = await loading;
      if (generation === this.generation) return snapshot;
    }
    return this.snapshot;
  }

  private load(generation: number): Promise<AccountsSnapshot> {
    const promise = (async () => {
      try {
        const [robots, namespaces] = await Promise.all([this.store.robots(), this.store.namespaces()]);
        const snapshot = new AccountsSnapshot(robots, namespaces, this.now());
        if (generation >= this.snapshotGeneration) {
          this.snapshot = snapshot;
          this.snapshotGeneration = generation;
        }
        return snapshot;
      } catch (error) {
        // the last snapshot keeps serving; the next request reads again
        this.log("error", "cannot read robots and namespaces from the metadata index", { error: String(error) });
        return this.snapshot;
      } finally {
        if (this.loading?.generation === generation) this.loading = null;
      }
    })();
    this.loading = { generation, promise };
    return promise;
  }

  private changed(): void {
    this.generation++;
  }

  // --- robots --------------------------------------------------------------------------------

  /** @returns the robot and its secret (the only time it is known) @throws AccountsError */
  async createRobot(request: RobotRequest, creator: string): Promise<{ robot: Robot; secret: string }> {
    assertRobotName(request.name);
    if (request.repositories.length === 0) throw new AccountsError("invalid", "A robot needs at least one repository glob (e.g. team/**)");
    request.repositories.forEach(assertRepositoryGlob);
    const actions = parseActions(request.actions);
    if (request.expiresInMs !== null && request.expiresInMs <= 0) throw new AccountsError("invalid", "A robot's expiry must lie in the future");
    if (request.description.length > 200) throw new AccountsError("invalid", "A robot's description is limited to 200 characters");
    if (request.namespace !== null) {
      if ((await this.fresh()).namespace(request.namespace) === undefined) throw new AccountsError("not-found", `No namespace "${request.namespace}"`);
      const outside = request.repositories.find((glob) => !globWithinNamespace(glob, request.namespace as string));
      if (outside !== undefined) throw new AccountsError("denied", `Repository glob "${outside}" is not inside namespace "${request.namespace}"`);
    }
    const secret = newSecret();
    const now = this.now();
    const robot: Robot = {
      name: request.name,
      secretHash: hashSecret(secret),
      previousHash: null,
      previousUntil: null,
      repositories: [...new Set(request.repositories)],
      actions,
      namespace: request.namespace,
      description: request.description,
      creator,
      createdAt: now,
      expiresAt: request.expiresInMs === null ? null : now + request.expiresInMs,
      disabled: false,
      lastUsedAt: null,
      lastUsedAddr: null,
    };
    if (!(await this.store.insertRobot(robot))) throw new AccountsError("exists", `A robot named "${robot.name}" exists`);
    this.changed();
    return { robot, secret };
  }

  /** A new secret; the old one stays valid for `graceMs` (0: refused at once). @throws AccountsError */
  async rotateRobot(name: string, graceMs: number): Promise<{ secret: string; previousUntil: number | null }> {
    const secret = newSecret();
    const previousUntil = graceMs > 0 ? this.now() + graceMs : null;
    if (!(await this.store.rotateRobot(name, hashSecret(secret), previousUntil))) throw notFound(name);
    this.changed();
    return { secret, previousUntil };
  }

  async setRobotDisabled(name: string, disabled: boolean): Promise<void> {
    if (!(await this.store.setRobotDisabled(name, disabled))) throw notFound(name);
    this.changed();
  }

  async deleteRobot(name: string): Promise<void> {
    if (!(await this.store.deleteRobot(name))) throw notFound(name);
    this.lastRecorded.delete(name);
    this.changed();
  }

  /** Records a sign-in (at most once per useRecordMs per robot, not waited for on disk). */
  recordRobotUse(name: string, addr: string): void {
    const now = this.now();
    if (now - (this.lastRecorded.get(name) ?? 0) < this.useRecordMs) return;
    this.lastRecorded.set(name, now);
    // the snapshot keeps its copy: last use is for people, not for access decisions
    this.store.recordRobotUse(name, now, addr.slice(0, 100)).catch((error: unknown) => {
      this.log("warn", "cannot record a robot's last use", { robot: name, error: String(error) });
    });
  }

  /** Robots expiring within EXPIRY_NOTICE_MS that were not announced in the last day; marks them announced. */
  async takeExpiring(): Promise<Robot[]> {
    const now = this.now();
    return this.store.takeExpiring(now, now + EXPIRY_NOTICE_MS, now - NOTICE_EVERY_MS);
  }

  /** Every robot, read now (with its last use). */
  async listRobots(): Promise<Robot[]> {
    return this.store.robots();
  }

  // --- namespaces ----------------------------------------------------------------------------

  async createNamespace(name: string, anonymousPull: boolean): Promise<Namespace> {
    assertNamespaceName(name);
    const now = this.now();
    if (!(await this.store.insertNamespace(name, anonymousPull, now))) throw new AccountsError("exists", `A namespace "${name}" exists`);
    this.changed();
    return { name, anonymousPull, createdAt: now, members: [] };
  }

  async deleteNamespace(name: string): Promise<void> {
    if (!(await this.store.deleteNamespace(name))) throw namespaceNotFound(name);
    this.changed();
  }

  async setAnonymousPull(name: string, on: boolean): Promise<void> {
    if (!(await this.store.setAnonymousPull(name, on))) throw namespaceNotFound(name);
    this.changed();
  }

  async putMember(namespace: string, member: string, role: Role): Promise<void> {
    assertMemberName(member);
    if (!(await this.store.putMember(namespace, { member, role, addedAt: this.now() }))) throw namespaceNotFound(namespace);
    this.changed();
  }

  async removeMember(namespace: string, member: string): Promise<void> {
    if (!(await this.store.deleteMember(namespace, member))) throw new AccountsError("not-found", `"${member}" is not a member of namespace "${namespace}"`);
    this.changed();
  }
}

function notFound(name: string): AccountsError {
  return new AccountsError("not-found", `No robot named "${name}"`);
}

function namespaceNotFound(name: string): AccountsError {
  return new AccountsError("not-found", `No namespace "${name}"`);
}
