/**
 * The last verification state of each (repository, manifest digest), durable, so the UI can
 * show a badge without verifying again. Written when a verification runs (a pull that missed
 * the cache, a push of an image or of a signature, an API call), not on every pull.
 *
 * One process keeps it in its own SQLite file (<root>/berth/plugins/signing/state.db).
 * Replicas keep it in the PostgreSQL database they share (`signing_verification`): it is what
 * `GET /api/v1/signatures` answers, and behind a load balancer any replica answers that, so
 * each must see the states the others recorded. The same statements run on both.
 */
import { SQL } from "bun";
import { join } from "node:path";
import { adoptSqliteFile, type SqliteAdoption } from "../../src/util/adopt-sqlite.ts";
import { createSharedTables } from "../../src/util/shared-schema.ts";

export type State = "verified" | "verified-by-index" | "not-required" | "unsigned" | "invalid";

export interface RecordedState {
  state: State;
  policy: string;
  mode: string;
  /** the key or identity that verified it; "" when none */
  signer: string;
  /** ISO 8601: shown, never compared */
  checkedAt: string;
}

const STATES: readonly string[] = ["verified", "verified-by-index", "not-required", "unsigned", "invalid"] satisfies State[];

function isState(value: string): value is State {
  return STATES.includes(value);
}

const COLUMNS = `repository TEXT NOT NULL, digest TEXT NOT NULL, state TEXT NOT NULL, policy TEXT NOT NULL,
  mode TEXT NOT NULL, signer TEXT NOT NULL, checked_at TEXT NOT NULL, PRIMARY KEY (repository, digest)`;

function field(row: Record<string, unknown>, key: string): string {
  const value = row[key];
  return typeof value === "string" ? value : "";
}

export class StateStore {
  private constructor(
    private readonly sql: SQL,
    private readonly table: string,
    /** false for the replicas' shared pool, which Berth closes itself */
    private readonly owned: boolean,
  ) {}

  /**
   * The shared database when replicas share one (`ctx.cluster.database`), else SQLite in
   * `dataDir`. On the shared database, the `state.db` a single Berth left in `dataDir` is adopted
   * first (cheap, and the badges stay until the next verification).
   */
  static async open(dataDir: string, shared: SQL | null, log: SqliteAdoption["log"] = () => {}): Promise<StateStore> {
    const file = join(dataDir, "state.db");
    if (shared) {
      await createSharedTables(shared, "signing", [`CREATE TABLE IF NOT EXISTS signing_verification (${COLUMNS})`]);
      const tables = [{ from: "verification", to: "signing_verification", order: ["repository", "digest"] }];
      await adoptSqliteFile(shared, { owner: "signing", file, tables, log });
      return new StateStore(shared, "signing_verification", false);
    }
    const sql = new SQL({ adapter: "sqlite", filename: file, create: true, readwrite: true });
    await sql`PRAGMA journal_mode = WAL`;
    await sql`PRAGMA synchronous = NORMAL`;
    await sql`PRAGMA busy_timeout = 5000`;
    await sql.unsafe(`CREATE TABLE IF NOT EXISTS verification (${COLUMNS}) WITHOUT ROWID`);
    return new StateStore(sql, "verification", true);
  }

  async record(repository: string, digest: string, state: Omit<RecordedState, "checkedAt">): Promise<void> {
    const at = new Date().toISOString();
    await this.sql`
      INSERT INTO ${this.sql(this.table)} (repository, digest, state, policy, mode, signer, checked_at)
      VALUES (${repository}, ${digest}, ${state.state}, ${state.policy}, ${state.mode}, ${state.signer}, ${at})
      ON CONFLICT (repository, digest) DO UPDATE SET state = EXCLUDED.state, policy = EXCLUDED.policy, mode = EXCLUDED.mode,
        signer = EXCLUDED.signer, checked_at = EXCLUDED.checked_at`;
  }

  /** Every recorded manifest of `repository`, by digest. */
  async ofRepository(repository: string): Promise<Record<string, RecordedState>> {
    const result: unknown = await this.sql`
      SELECT digest, state, policy, mode, signer, checked_at FROM ${this.sql(this.table)}
      WHERE repository = ${repository} ORDER BY digest`;
    const out: Record<string, RecordedState> = {};
    for (const row of Array.isArray(result) ? result : []) {
      if (typeof row !== "object" || row === null) continue;
      const state = field(row, "state");
      if (!isState(state)) continue;
      out[field(row, "digest")] = { state, policy: field(row, "policy"), mode: field(row, "mode"), signer: field(row, "signer"), checkedAt: field(row, "checked_at") };
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.owned) await this.sql.close();
  }
}
