/**
 * The tests' PostgreSQL server: tests/machine.sh (sourced by tests/run.sh) starts one on
 * 127.0.0.1 and exports BERTH_TEST_POSTGRES_URL, a URL for the role berth (CREATEDB) on the
 * `postgres` database. That database is only for creating and dropping others: each test makes
 * a database of its own with createTestDatabase() or withDatabase() and drops it afterwards.
 *
 * Berth processes never see BERTH_TEST_POSTGRES_URL (berthEnv() strips BERTH_*, and Berth
 * refuses variables it does not know): tests pass a database URL explicitly.
 */
import { SQL } from "bun";

export type MetadataBackend = "sqlite" | "postgres";

export interface TestDatabase {
  /** the database's name: the prefix, this process's id and a counter */
  name: string;
  /** a URL for the role berth on this database */
  url: string;
  /** drops the database, ending connections still open to it; again is a no-op */
  drop(): Promise<void>;
}

const ENV_NAME = "BERTH_TEST_POSTGRES_URL";
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
let created = 0;
let warned = false;

/** The tests' PostgreSQL server from the environment, or null when none is configured. */
export function postgresUrl(): string | null {
  const url = process.env[ENV_NAME];
  return url === undefined || url === "" ? null : url;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci === "true" || ci === "1";
}

/**
 * The metadata backends a parametrised test runs on: both when a PostgreSQL server is
 * configured. Without one, CI fails (the PostgreSQL variant must not pass by being skipped) and a
 * local run keeps SQLite alone, saying so once.
 * @throws Error when CI is set and BERTH_TEST_POSTGRES_URL is not
 */
export function metadataBackends(): MetadataBackend[] {
  if (postgresUrl() !== null) return ["sqlite", "postgres"];
  if (isCi()) {
    throw new Error(`CI is set but ${ENV_NAME} is not: the metadata tests must run on PostgreSQL too (tests/run.sh sources tests/machine.sh, which starts it)`);
  }
  if (!warned) {
    warned = true;
    console.warn(`[tests/helpers/postgres.ts] ${ENV_NAME} is not set: metadata tests run on SQLite only (\`source tests/machine.sh\` as root starts PostgreSQL)`);
  }
  return ["sqlite"];
}

function requireServer(): string {
  const url = postgresUrl();
  if (url === null) throw new Error(`${ENV_NAME} is not set; \`source tests/machine.sh\` as root starts the tests' PostgreSQL`);
  return url;
}

/** `serverUrl` with its database replaced by `name` (credentials, host and options kept). */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * DROP DATABASE ... WITH (FORCE), again while an autovacuum worker is on it: the role berth may
 * not end a worker PostgreSQL itself runs (42501, "must be a member of the role whose process is
 * being terminated"), and the worker ends by itself in a moment. At most 20 tries, 200 ms apart.
 */
async function dropDatabase(sql: SQL, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      return;
    } catch (error) {
      const code = typeof error === "object" && error !== null && "errno" in error ? String(error.errno) : "";
      if (code !== "42501" || attempt >= 20) throw error;
      await Bun.sleep(200);
    }
  }
}

/** Runs `work` on a short-lived connection to the server's maintenance database. */
async function withAdmin<T>(work: (sql: SQL) => Promise<T>): Promise<T> {
  const serverUrl = requireServer();
  const sql = new SQL(serverUrl, { max: 1, connectionTimeout: 10, idleTimeout: 1 });
  try {
    return await work(sql);
  } catch (error) {
    const host = new URL(serverUrl).host;
    throw new Error(`PostgreSQL at ${host} (${ENV_NAME}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await sql.close({ timeout: 5 });
  }
}

/**
 * Creates an empty database owned by berth, named `<prefix>_<pid>_<n>` (lower case, at most 63
 * characters, as PostgreSQL identifiers are).
 * @throws Error when no server is configured or it refuses
 */
export async function createTestDatabase(prefix = "berth_test"): Promise<TestDatabase> {
  const name = `${prefix.toLowerCase()}_${process.pid}_${++created}`;
  if (!IDENTIFIER.test(name) || name.length > 63) throw new Error(`Cannot name a test database "${name}": use a prefix of [a-z0-9_]`);
  const serverUrl = requireServer();
  // a database left by an earlier run that reused this pid goes first
  await withAdmin(async (sql) => {
    await dropDatabase(sql, name);
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  });
  let dropped = false;
  return {
    name,
    url: databaseUrl(serverUrl, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE) ends the connections still open to it (a pool a test did not close, a
      // killed Berth's backends) in the same statement, so none can slip in before the drop
      await withAdmin((sql) => dropDatabase(sql, name));
    },
  };
}

/** Runs `work` with a fresh database and drops it afterwards, whether `work` succeeded or not. */
export async function withDatabase<T>(prefix: string, work: (db: TestDatabase) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(prefix);
  try {
    return await work(db);
  } finally {
    await db.drop();
  }
}
