/**
 * Berth as one of several replicas sharing a PostgreSQL metadata database (and an object
 * store): who this process is, which replicas are alive, leases, blob claims and settings
 * every replica follows. With SQLite there is one process: `shared` is false, leases are
 * local and nothing here touches the database.
 *
 * Liveness: each replica writes its row every `HEARTBEAT_MS`; one quiet for `DEAD_AFTER_MS`
 * is dead, and what it left half done (journal entries, leases, blob claims) is taken over.
 */
import type { SQL } from "bun";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "../log.ts";
import type { MetadataDatabase } from "../metadata/database.ts";
import { rowsOf, str } from "../metadata/rows.ts";
import { BlobClaims } from "./blob-claims.ts";
import { type LeaseOutcome, Leases } from "./leases.ts";
import { CLUSTER_SCHEMA } from "./schema.ts";
import { createSharedTables } from "../util/shared-schema.ts";

export const HEARTBEAT_MS = 3_000;
export const DEAD_AFTER_MS = 15_000;

export type { LeaseOutcome } from "./leases.ts";

/**
 * This replica's name: kept in `<storage.root>/berth/replica-id` (local state, one process per
 * root), so a replica restarted after a crash knows the journal entries it left as its own and
 * settles them at once. Without a local root (the in-memory driver), a new name per process.
 */
export function replicaIdFor(root: string | null): string {
  const made = `${hostname()}-${crypto.randomUUID().slice(0, 8)}`;
  if (root === null) return made;
  const file = join(root, "berth", "replica-id");
  try {
    const kept = readFileSync(file, "utf8").trim();
    if (/^[\w.-]{1,200}$/.test(kept)) return kept;
  } catch {
    // not made yet
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${made}\n`, { mode: 0o600 });
  return made;
}

export interface ClusterOptions {
  replica: string;
  log: Logger;
  /** host:port this replica listens on (shown in the replicas list) */
  addr: () => string;
  gcDelayMs: number;
}

export class Cluster {
  readonly replica: string;
  readonly blobClaims: BlobClaims | null;
  private readonly leases: Leases | null;
  /** names of local runs in progress: one at a time per process, whatever the database */
  private readonly running = new Set<string>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly settingListeners = new Map<string, { seen: string | undefined; listener: (value: string) => void }>();
  private readonly log: Logger;
  private readonly addr: () => string;

  private constructor(
    /** the shared database; null with SQLite */
    readonly sql: SQL | null,
    options: ClusterOptions,
  ) {
    this.replica = options.replica;
    this.log = options.log;
    this.addr = options.addr;
    const warn = (message: string, fields: Record<string, string>) => options.log("warn", message, fields);
    this.leases = sql ? new Leases(sql, this.replica, warn) : null;
    this.blobClaims = sql ? new BlobClaims(sql, this.replica, options.gcDelayMs) : null;
  }

  static async open(database: MetadataDatabase, options: ClusterOptions): Promise<Cluster> {
    const sql = database.kind === "postgres" ? database.sql : null;
    if (sql) await createSharedTables(sql, "cluster", CLUSTER_SCHEMA);
    return new Cluster(sql, options);
  }

  /** True when other processes may share the metadata (PostgreSQL). */
  get shared(): boolean {
    return this.sql !== null;
  }

  /** Joins the replicas and keeps the heartbeat (and the shared settings) going until `close`. */
  async start(): Promise<void> {
    if (!this.sql || this.heartbeat) return;
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
  }

  /** Replicas seen within DEAD_AFTER_MS, this one included. */
  async alive(): Promise<Set<string>> {
    if (!this.sql) return new Set([this.replica]);
    const rows = rowsOf(await this.sql`
      SELECT id FROM cluster_replicas WHERE seen_at > (extract(epoch from clock_timestamp()) * 1000)::bigint - ${DEAD_AFTER_MS}`);
    return new Set([this.replica, ...rows.map((row) => str(row, "id"))]);
  }

  /**
   * Which journal owners left changes no one will finish: replicas not alive (with `ownToo`,
   * this one as well: at start nothing of it is in flight). One process: every owner.
   */
  async abandoned({ ownToo = false }: { ownToo?: boolean } = {}): Promise<(owner: string) => boolean> {
    if (!this.sql) return () => true;
    const alive = await this.alive();
    return (owner) => (ownToo && owner === this.replica) || !alive.has(owner);
  }

  /** Every replica's row, for the status API. */
  async replicas(): Promise<Array<{ id: string; addr: string; startedAt: number; seenAt: number; alive: boolean }>> {
    if (!this.sql) return [];
    const rows = rowsOf(await this.sql`
      SELECT id, addr, started_at, seen_at, seen_at > (extract(epoch from clock_timestamp()) * 1000)::bigint - ${DEAD_AFTER_MS} AS alive
      FROM cluster_replicas ORDER BY started_at`);
    return rows.map((row) => ({ id: str(row, "id"), addr: str(row, "addr"), startedAt: Number(row.started_at), seenAt: Number(row.seen_at), alive: row.alive === true }));
  }

  /**
   * Runs `work` unless a run of `name` is in progress here or, with shared metadata, on another
   * replica (a lease: see leases.ts). @returns its value, or who holds the lease
   */
  async exclusive<T>(name: string, work: () => Promise<T>): Promise<LeaseOutcome<T>> {
    if (this.running.has(name)) return { ran: false, holder: this.replica };
    this.running.add(name);
    try {
      if (!this.leases) return { ran: true, value: await work() };
      return await this.leases.run(name, work);
    } finally {
      this.running.delete(name);
    }
  }

  /** Writes a setting every replica applies within one heartbeat (maintenance mode). */
  async setSetting(key: string, value: string): Promise<void> {
    if (!this.sql) return;
    const watch = this.settingListeners.get(key);
    if (watch) watch.seen = value; // this replica applied it already
    await this.sql`INSERT INTO cluster_settings (key, value, updated_at) VALUES (${key}, ${value}, (extract(epoch from clock_timestamp()) * 1000)::bigint)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`;
  }

  /**
   * Told of the shared setting `key` when a heartbeat finds it set or changed: a replica that
   * starts while the others are in maintenance joins them (until a setting exists, each replica
   * follows its own configuration).
   */
  onSettingChange(key: string, listener: (value: string) => void): void {
    this.settingListeners.set(key, { seen: undefined, listener });
  }

  /** Runs `fn` every `intervalMs` (never overlapping itself) until `close`; failures are logged. */
  every(intervalMs: number, fn: () => void | Promise<void>): void {
    let running = false;
    const tick = async () => {
      if (running) return;
      running = true;
      try {
        await fn();
      } catch (error) {
        this.log("warn", "a replica's periodic task failed", { error: error instanceof Error ? error.message : String(error) });
      } finally {
        running = false;
      }
    };
    this.timers.push(setInterval(() => void tick(), intervalMs));
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    if (this.sql) await this.sql`DELETE FROM cluster_replicas WHERE id = ${this.replica}`.catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const sql = this.sql;
    if (!sql) return;
    try {
      await sql`
        INSERT INTO cluster_replicas (id, addr, started_at, seen_at)
        VALUES (${this.replica}, ${this.addr()}, (extract(epoch from clock_timestamp()) * 1000)::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint)
        ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at, addr = EXCLUDED.addr`;
      // replicas gone for an hour are forgotten (their row only told who they were)
      await sql`DELETE FROM cluster_replicas WHERE seen_at < (extract(epoch from clock_timestamp()) * 1000)::bigint - 3600000`;
      if (this.settingListeners.size > 0) {
        const settings = new Map(rowsOf(await sql`SELECT key, value FROM cluster_settings`).map((row) => [str(row, "key"), str(row, "value")] as const));
        for (const [key, watch] of this.settingListeners) {
          const value = settings.get(key);
          if (value === undefined || value === watch.seen) continue;
          watch.seen = value;
          watch.listener(value);
        }
      }
    } catch (error) {
      this.log("warn", "cluster heartbeat failed", { error: error instanceof Error ? error.message : String(error) });
    }
  }
}
