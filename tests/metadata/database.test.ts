/**
 * The metadata database's writes: durable by default (SQLite: a round of its file system's
 * sync barrier after the commit; PostgreSQL's synchronous commit), or told not to wait for the disk (`durable: false`) for the records a
 * journal entry or the tree already covers. Either way a write commits as one transaction.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type DatabaseLocation, MetadataDatabase, sqlitePath } from "../../src/metadata/database.ts";
import { syncBarrierFor } from "../../src/storage/sync-barrier.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
  for (const dir of dirs) removeDir(dir);
});

async function locationFor(backend: string): Promise<DatabaseLocation> {
  if (backend === "postgres") {
    const database = await createTestDatabase("berth_database");
    databases.push(database);
    return { url: database.url, root: "", inMemory: false };
  }
  const root = tempDir("berth-database-");
  dirs.push(root);
  return { url: "", root, inMemory: false };
}

/** The first cell of each row of a `.values()` result. */
function firstCells(result: unknown): unknown[] {
  return Array.isArray(result) ? result.map((row: unknown) => (Array.isArray(row) ? row[0] : undefined)) : [];
}

/**
 * Inserts repository `name` and tells how the write committed: "durable" or "not waited for".
 * PostgreSQL: its synchronous_commit inside the transaction; SQLite: whether a round of the
 * sync barrier of the database file's file system ran for it.
 */
async function insertAndTell(database: MetadataDatabase, location: DatabaseLocation, name: string, durable?: boolean): Promise<string> {
  const options = durable === undefined ? {} : { durable };
  if (database.kind === "postgres") {
    return database.write(async (tx) => {
      await tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${name}, ${1}, ${1})`;
      const [setting] = firstCells(await tx`SHOW synchronous_commit`.values());
      return setting === "off" ? "not waited for" : "durable";
    }, options);
  }
  const barrier = syncBarrierFor(sqlitePath(location.root));
  const before = barrier.rounds;
  await database.write((tx) => tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${name}, ${1}, ${1})`, options);
  return barrier.rounds > before ? "durable" : "not waited for";
}

async function repositories(database: MetadataDatabase): Promise<string[]> {
  return firstCells(await database.sql`SELECT name FROM repositories ORDER BY name`.values()).map(String);
}

describe.each(metadataBackends())("metadata database on %s", (backend) => {
  test("writes are durable unless told otherwise, and a durable write after a non-durable one is durable again", async () => {
    const location = await locationFor(backend);
    const database = await MetadataDatabase.open(location);
    try {
      expect(await insertAndTell(database, location, "a")).toBe("durable");
      expect(await insertAndTell(database, location, "b", false)).toBe("not waited for");
      expect(await insertAndTell(database, location, "c", false)).toBe("not waited for");
      expect(await insertAndTell(database, location, "d")).toBe("durable");
      expect(await repositories(database)).toEqual(["a", "b", "c", "d"]);
    } finally {
      await database.close();
    }
  });

  test("a non-durable write that fails commits nothing, and concurrent writes of both kinds all land", async () => {
    const database = await MetadataDatabase.open(await locationFor(backend));
    try {
      const failing = database.write(
        async (tx) => {
          await tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${"lost"}, ${1}, ${1})`;
          throw new Error("body failed");
        },
        { durable: false },
      );
      await expect(failing).rejects.toThrow("body failed");
      const names = Array.from({ length: 20 }, (_, i) => `r${String(i).padStart(2, "0")}`);
      await Promise.all(
        names.map((name, i) =>
          database.write((tx) => tx`INSERT INTO repositories (name, created_at, pushed_at) VALUES (${name}, ${i}, ${i})`, { durable: i % 2 === 0 }),
        ),
      );
      expect(await repositories(database)).toEqual(names);
    } finally {
      await database.close();
    }
  });
});
