/**
 * The last verification state of each (repository, manifest digest), durable in the plugin's
 * own SQLite file (<root>/berth/plugins/signing/state.db), so the UI can show a badge without
 * verifying again. Written when a verification runs (a pull that missed the cache, a push of
 * an image or of a signature, an API call), not on every pull.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";

export type State = "verified" | "verified-by-index" | "not-required" | "unsigned" | "invalid";

export interface RecordedState {
  state: State;
  policy: string;
  mode: string;
  /** the key or identity that verified it; "" when none */
  signer: string;
  checkedAt: string;
}

const STATES: readonly string[] = ["verified", "verified-by-index", "not-required", "unsigned", "invalid"] satisfies State[];

function isState(value: string): value is State {
  return STATES.includes(value);
}

export class StateStore {
  private readonly db: Database;

  private constructor(db: Database) {
    this.db = db;
  }

  static open(dataDir: string): StateStore {
    const db = new Database(join(dataDir, "state.db"), { create: true, strict: true });
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    db.exec(`CREATE TABLE IF NOT EXISTS verification (
      repository TEXT NOT NULL, digest TEXT NOT NULL, state TEXT NOT NULL, policy TEXT NOT NULL,
      mode TEXT NOT NULL, signer TEXT NOT NULL, checked_at TEXT NOT NULL,
      PRIMARY KEY (repository, digest)) WITHOUT ROWID`);
    return new StateStore(db);
  }

  record(repository: string, digest: string, state: Omit<RecordedState, "checkedAt">): void {
    this.db
      .query(`INSERT INTO verification (repository, digest, state, policy, mode, signer, checked_at) VALUES ($repository, $digest, $state, $policy, $mode, $signer, $at)
        ON CONFLICT (repository, digest) DO UPDATE SET state = excluded.state, policy = excluded.policy, mode = excluded.mode, signer = excluded.signer, checked_at = excluded.checked_at`)
      .run({ repository, digest, ...state, at: new Date().toISOString() });
  }

  /** Every recorded manifest of `repository`, by digest. */
  ofRepository(repository: string): Record<string, RecordedState> {
    const rows = this.db
      .query<{ digest: string; state: string; policy: string; mode: string; signer: string; checked_at: string }, { repository: string }>(
        "SELECT digest, state, policy, mode, signer, checked_at FROM verification WHERE repository = $repository ORDER BY digest",
      )
      .all({ repository });
    const out: Record<string, RecordedState> = {};
    for (const row of rows) {
      if (!isState(row.state)) continue;
      out[row.digest] = { state: row.state, policy: row.policy, mode: row.mode, signer: row.signer, checkedAt: row.checked_at };
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}
