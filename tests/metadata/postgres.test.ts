/**
 * The tests' PostgreSQL server works (tests/machine.sh starts it), and the SQL subset the
 * metadata index uses behaves the same through Bun.SQL on SQLite and on PostgreSQL, except where
 * the assertions below pin down a difference: each of those is a rule for the index's code.
 *
 * Differences found (Bun 1.4.5, PostgreSQL 15):
 * - BIGINT (int8, count(*)) comes back as a string from PostgreSQL and as a number from SQLite
 *   (exact only up to 2^53); with `bigint: true` both give a bigint. INTEGER is a number on both.
 *   sum() of a BIGINT is `numeric` on PostgreSQL, a string even with `bigint: true`: cast it.
 * - BOOLEAN is true/false on PostgreSQL and 1/0 on SQLite. NULL is null on both.
 * - sql.begin(): resolves with the callback's value and commits; a throw (or a failing
 *   statement) rolls back and rejects with that error, on both. PostgreSQL runs each transaction
 *   on a connection of its own, so transactions overlap and a statement on `sql` outside them
 *   is isolated from them. SQLite has one connection: transactions run one after the other, but a
 *   statement on `sql` issued while one is open runs INSIDE it (it sees its uncommitted rows and
 *   is rolled back with it); `sql.reserve()` is refused.
 * - SQLite starts with SQLite's defaults: rollback journal, foreign keys off, busy timeout 0 (a
 *   second connection to the file gets SQLITE_BUSY at once while another writes).
 * - A failed statement: PostgresError with the SQLSTATE in `errno` ("23505"); SQLiteError with
 *   `code` "SQLITE_CONSTRAINT_PRIMARYKEY".
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import { createTestDatabase, type MetadataBackend, metadataBackends, postgresUrl, type TestDatabase } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

type Row = Record<string, unknown>;

interface Opened {
  sql: SQL;
  /** a second client on the same database */
  another(): SQL;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(backend: MetadataBackend, options: { bigint?: boolean } = {}): Promise<Opened> {
  const clients: SQL[] = [];
  const closeAll = () => Promise.all(clients.map((client) => client.close({ timeout: 5 }))).then(() => {});
  if (backend === "sqlite") {
    const dir = tempDir("berth-sqlite-");
    const filename = join(dir, "index.db");
    const client = () => {
      const opened = new SQL({ adapter: "sqlite", filename, ...options });
      clients.push(opened);
      return opened;
    };
    const sql = client();
    const close = async () => {
      await closeAll();
      removeDir(dir);
    };
    cleanups.push(close);
    return { sql, another: client, close };
  }
  const db: TestDatabase = await createTestDatabase("berth_smoke");
  const client = () => {
    clients.push(new SQL(db.url, { max: 4, ...options }));
    return clients.at(-1) as SQL;
  };
  const sql = client();
  const close = async () => {
    await closeAll();
    await db.drop();
  };
  cleanups.push(close);
  return { sql, another: client, close };
}

const TABLE = "CREATE TABLE blobs (digest TEXT PRIMARY KEY, size BIGINT NOT NULL, refs INTEGER NOT NULL, live BOOLEAN NOT NULL, note TEXT)";
const BIG = 2 ** 40 + 1;

/** What each backend gives back for the same value. */
const returns: Record<MetadataBackend, { bigint: (n: number) => unknown; boolean: (b: boolean) => unknown }> = {
  sqlite: { bigint: (n) => n, boolean: (b) => (b ? 1 : 0) },
  postgres: { bigint: (n) => String(n), boolean: (b) => b },
};

/** Bounded wait for a promise that a concurrent transaction resolves. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within 10 s`)), 10_000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

for (const backend of metadataBackends()) {
  describe(`Bun.SQL on ${backend}`, () => {
    test("creates a table, inserts with RETURNING, selects; INTEGER, BIGINT, BOOLEAN and NULL come back as the table says", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      const inserted: Row[] = await sql`INSERT INTO blobs (digest, size, refs, live, note) VALUES (${"sha256:a"}, ${BIG}, ${7}, ${true}, ${null}) RETURNING *`;
      const expected = { digest: "sha256:a", size: returns[backend].bigint(BIG), refs: 7, live: returns[backend].boolean(true), note: null };
      expect(inserted).toEqual([expected]);
      const selected: Row[] = await sql`SELECT * FROM blobs WHERE digest = ${"sha256:a"}`;
      expect(selected).toEqual([expected]);
      // a BIGINT parameter compares with the column whether it is given as a number or a bigint
      expect(await sql`SELECT digest FROM blobs WHERE size = ${BigInt(BIG)}`.values()).toEqual([["sha256:a"]]);
      await close();
    });

    test("INSERT ... ON CONFLICT DO UPDATE adds to the existing row and RETURNING gives the result", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      const upsert = (digest: string, size: number) =>
        sql`INSERT INTO blobs (digest, size, refs, live) VALUES (${digest}, ${size}, ${1}, ${false})
            ON CONFLICT (digest) DO UPDATE SET refs = blobs.refs + excluded.refs, live = ${true}
            RETURNING refs, live`;
      expect(await upsert("sha256:b", BIG)).toEqual([{ refs: 1, live: returns[backend].boolean(false) }]);
      expect(await upsert("sha256:b", BIG)).toEqual([{ refs: 2, live: returns[backend].boolean(true) }]);
      const counted: Row[] = await sql`SELECT count(*) AS n, sum(size) AS total, CAST(sum(size) AS BIGINT) AS cast_total FROM blobs`;
      // count(*) is BIGINT on PostgreSQL; sum() of a BIGINT is NUMERIC there (a string even with bigint: true)
      expect(counted).toEqual([{ n: returns[backend].bigint(1), total: returns[backend].bigint(BIG), cast_total: returns[backend].bigint(BIG) }]);
      const updated = await sql`UPDATE blobs SET note = ${"x"} WHERE digest = ${"sha256:b"}`;
      expect(updated.count).toBe(1);
      await close();
    });

    test("bigint: true gives a bigint for BIGINT values beyond 2^53, exactly", async () => {
      const { sql, close } = await open(backend, { bigint: true });
      await sql.unsafe(TABLE);
      const huge = 2n ** 62n + 1n;
      const rows: Row[] = await sql`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:c"}, ${huge}, ${3}, ${true}) RETURNING size, refs`;
      // INTEGER stays a number on PostgreSQL (int4); SQLite has one integer type, so it is a bigint too
      expect(rows).toEqual([{ size: huge, refs: backend === "sqlite" ? 3n : 3 }]);
      const sum: Row[] = await sql`SELECT sum(size) AS total FROM blobs`;
      expect(sum).toEqual([{ total: backend === "sqlite" ? huge : String(huge) }]);
      await close();
    });

    test("without bigint: true, SQLite rounds a BIGINT beyond 2^53 and PostgreSQL keeps it exact as a string", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      const huge = 2n ** 53n + 1n;
      const rows: Row[] = await sql`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:d"}, ${huge}, ${0}, ${true}) RETURNING size`;
      expect(rows).toEqual([{ size: backend === "sqlite" ? 2 ** 53 : String(huge) }]);
      await close();
    });

    test("sql.begin commits and resolves with the callback's value; a throw rolls back and rejects with it", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      const value = await sql.begin(async (tx) => {
        await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:kept"}, ${1}, ${1}, ${true})`;
        return 42;
      });
      expect(value).toBe(42);
      const boom = new Error("boom");
      const thrown = sql.begin(async (tx) => {
        await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:gone"}, ${1}, ${1}, ${true})`;
        throw boom;
      });
      await expect(thrown).rejects.toBe(boom);
      expect(await sql`SELECT digest FROM blobs ORDER BY digest`.values()).toEqual([["sha256:kept"]]);
      await close();
    });

    test("a failing statement in sql.begin rolls back the statements before it, with the backend's error", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      await sql`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:a"}, ${1}, ${1}, ${true})`;
      const failed = await sql
        .begin(async (tx) => {
          await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:b"}, ${1}, ${1}, ${true})`;
          await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:a"}, ${1}, ${1}, ${true})`;
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      if (backend === "postgres") {
        expect(failed).toBeInstanceOf(SQL.PostgresError);
        expect(failed).toMatchObject({ errno: "23505" });
      } else {
        expect(failed).toBeInstanceOf(SQL.SQLiteError);
        expect(failed).toMatchObject({ code: "SQLITE_CONSTRAINT_PRIMARYKEY" });
      }
      expect(await sql`SELECT digest FROM blobs ORDER BY digest`.values()).toEqual([["sha256:a"]]);
      await close();
    });

    test("a statement outside an open transaction: isolated on PostgreSQL, inside it on SQLite", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      let seenOutside: unknown;
      await sql
        .begin(async (tx) => {
          await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:tx"}, ${1}, ${1}, ${true})`;
          seenOutside = (await sql`SELECT digest FROM blobs`.values()).map((row: unknown[]) => row[0]);
          await sql`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:outside"}, ${1}, ${1}, ${true})`;
          throw new Error("roll back");
        })
        .catch(() => {});
      const left = await sql`SELECT digest FROM blobs ORDER BY digest`.values();
      if (backend === "postgres") {
        expect(seenOutside).toEqual([]);
        expect(left).toEqual([["sha256:outside"]]);
      } else {
        // SQLite: the outside read saw the uncommitted row and the outside write was rolled back
        expect(seenOutside).toEqual(["sha256:tx"]);
        expect(left).toEqual([]);
      }
      await close();
    });

    test("two sql.begin at once: overlapping on PostgreSQL, one after the other on SQLite", async () => {
      const { sql, close } = await open(backend);
      await sql.unsafe(TABLE);
      const events: string[] = [];
      let secondStarted!: () => void;
      const started = new Promise<void>((resolve) => (secondStarted = resolve));
      const first = sql.begin(async (tx) => {
        events.push("first begins");
        await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:1"}, ${1}, ${1}, ${true})`;
        // PostgreSQL: the second transaction starts while this one is open. SQLite: it cannot,
        // so several round trips later it still has not.
        if (backend === "postgres") await within(started, "the second transaction's start");
        else for (let i = 0; i < 5; i++) await tx`SELECT 1`;
        events.push("first ends");
      });
      const second = sql.begin(async (tx) => {
        events.push("second begins");
        secondStarted();
        await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:2"}, ${1}, ${1}, ${true})`;
        events.push("second ends");
      });
      await Promise.all([first, second]);
      if (backend === "postgres") expect(events.indexOf("second begins")).toBeLessThan(events.indexOf("first ends"));
      else expect(events).toEqual(["first begins", "first ends", "second begins", "second ends"]);
      expect(await sql`SELECT count(*) AS n FROM blobs`.values()).toEqual([[returns[backend].bigint(2)]]);
      await close();
    });
  });
}

describe("Bun.SQL on sqlite: what the index must set itself", () => {
  test("SQLite's defaults: rollback journal, no foreign keys, no busy timeout, no reserve()", async () => {
    const { sql, close } = await open("sqlite");
    expect(await sql`PRAGMA journal_mode`.values()).toEqual([["delete"]]);
    expect(await sql`PRAGMA foreign_keys`.values()).toEqual([[0]]);
    expect(await sql`PRAGMA busy_timeout`.values()).toEqual([[0]]);
    await expect(sql.reserve()).rejects.toThrow("doesn't support connection reservation");
    await close();
  });

  test("a second connection gets SQLITE_BUSY at once while another holds a write transaction", async () => {
    const { sql, another, close } = await open("sqlite");
    await sql.unsafe(TABLE);
    const other = another();
    const blocked = await sql.begin(async (tx) => {
      await tx`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:1"}, ${1}, ${1}, ${true})`;
      return other`INSERT INTO blobs (digest, size, refs, live) VALUES (${"sha256:2"}, ${1}, ${1}, ${true})`.then(
        () => null,
        (error: unknown) => error,
      );
    });
    expect(blocked).toBeInstanceOf(SQL.SQLiteError);
    expect(blocked).toMatchObject({ code: "SQLITE_BUSY" });
    await close();
  });
});

describe.skipIf(postgresUrl() === null)("the tests' PostgreSQL server", () => {
  test("createTestDatabase makes an empty database berth may create tables in; drop() removes it with connections still open", async () => {
    const db = await createTestDatabase("berth_smoke");
    const admin = new SQL(postgresUrl() ?? "", { max: 1 });
    cleanups.push(async () => {
      await db.drop();
      await admin.close({ timeout: 5 });
    });
    const sql = new SQL(db.url, { max: 1 });
    await sql`CREATE TABLE t (id BIGINT PRIMARY KEY)`;
    expect(await sql`SELECT current_user, current_database()`.values()).toEqual([["berth", db.name]]);
    // the connection stays open: drop() must end it
    await db.drop();
    expect(await admin`SELECT datname FROM pg_database WHERE datname = ${db.name}`.values()).toEqual([]);
    await expect(sql`SELECT 1`).rejects.toBeInstanceOf(Error);
    await db.drop();
    await sql.close({ timeout: 1 }).catch(() => {});
  });

  test("the server listens on 127.0.0.1 only", async () => {
    const admin = new SQL(postgresUrl() ?? "", { max: 1 });
    try {
      const rows: Row[] = await admin`SELECT current_setting('listen_addresses') AS listen`;
      // a server of one's own (BERTH_TEST_POSTGRES_URL set beforehand) may listen elsewhere
      if (postgresUrl()?.includes("@127.0.0.1:55432/")) expect(rows).toEqual([{ listen: "127.0.0.1" }]);
      else expect(rows).toHaveLength(1);
    } finally {
      await admin.close({ timeout: 5 });
    }
  });
});
