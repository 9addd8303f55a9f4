/**
 * berth migrate's metadata half: every table of the schema copied row for row (paged by
 * primary key, composite ones included) from SQLite to SQLite and to PostgreSQL; a target that
 * holds rows is refused and left as it was; a copy that fails part-way leaves the target empty.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { MetadataDatabase } from "../../src/metadata/database.ts";
import { type Row, rowsOf } from "../../src/metadata/rows.ts";
import { SCHEMA } from "../../src/metadata/schema.ts";
import { copyMetadata, countRows, TargetNotEmptyError } from "../../src/migrate/metadata-copy.ts";
import { metadataTables } from "../../src/migrate/tables.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
const databases: TestDatabase[] = [];
const opened: MetadataDatabase[] = [];
afterAll(async () => {
  for (const database of opened) await database.close();
  for (const database of databases) await database.drop();
  for (const dir of dirs) removeDir(dir);
});

async function open(backend: string): Promise<MetadataDatabase> {
  let database: MetadataDatabase;
  if (backend === "postgres") {
    const created = await createTestDatabase("berth_migrate");
    databases.push(created);
    database = await MetadataDatabase.open({ url: created.url, root: "", inMemory: false });
  } else {
    const root = tempDir("berth-migrate-db-");
    dirs.push(root);
    database = await MetadataDatabase.open({ url: "", root, inMemory: false });
  }
  opened.push(database);
  return database;
}

/** More tags than one page (500 rows), a robot with every column, a namespace with members. */
async function fill(database: MetadataDatabase): Promise<void> {
  const sql = database.sql;
  await sql`INSERT INTO meta (key, value) VALUES ('built_at', '1700000000000')`;
  await sql`INSERT INTO repositories (name, created_at, pushed_at) VALUES ('team/app', 1700000000000, 1700000000001)`;
  await sql`INSERT INTO blobs (digest, size, created_at, review_at) VALUES ('sha256:aa', 9007199254740, 1700000000000, NULL), ('sha256:bb', 1, 2, 3)`;
  const tags = Array.from({ length: 1201 }, (_, i) => ({ repository: i % 2 === 0 ? "team/app" : "team/b", tag: `v${i}`, digest: `sha256:${i}`, updated_at: 1700000000000 + i }));
  for (let i = 0; i < tags.length; i += 400) await sql`INSERT INTO tags ${sql(tags.slice(i, i + 400))}`;
  await sql`INSERT INTO robots (name, secret_hash, previous_hash, previous_until, repositories, actions, namespace, description, creator, created_at, expires_at, disabled, last_used_at, last_used_addr, expiry_noticed_at)
    VALUES ('ci', 'hash', NULL, NULL, '["team/**"]', '["pull","push"]', NULL, 'CI', 'berth:cli', 1700000000000, NULL, 0, NULL, NULL, NULL)`;
  await sql`INSERT INTO namespaces (name, anonymous_pull, created_at) VALUES ('team', 1, 1700000000000)`;
  await sql`INSERT INTO namespace_members (namespace, member, role, added_at) VALUES ('team', 'nadia', 'admin', 1700000000000), ('team', 'group:dev', 'developer', 1700000000000)`;
}

/** A table's rows, sorted, with numbers as numbers (PostgreSQL gives BIGINT as text). */
async function rows(sql: SQL, table: string): Promise<Row[]> {
  const all = rowsOf(await sql.unsafe(`SELECT * FROM "${table}"`)).map((row) =>
    Object.fromEntries(Object.entries(row).map(([column, value]) => [column, typeof value === "string" && /^-?\d+$/.test(value) && column !== "tag" && column !== "value" ? Number(value) : value])),
  );
  return all.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe("the tables berth migrate copies", () => {
  test("every table of the schema, each with its primary key", () => {
    const tables = metadataTables();
    expect(tables.map((t) => t.name)).toEqual(SCHEMA.flatMap((statement) => /CREATE TABLE IF NOT EXISTS (\w+)/.exec(statement)?.[1] ?? []));
    expect(tables.find((t) => t.name === "tags")?.key).toEqual(["repository", "tag"]);
    expect(tables.find((t) => t.name === "manifest_references")?.key).toEqual(["repository", "digest", "child"]);
    expect(tables.find((t) => t.name === "robots")?.key).toEqual(["name"]);
    expect(() => metadataTables(["CREATE TABLE IF NOT EXISTS loose (a TEXT)"])).toThrow(/loose has no primary key/);
  });
});

describe.each(metadataBackends())("copyMetadata from SQLite to %s", (backend) => {
  test("copies every row of every table; a second copy is refused and changes nothing", async () => {
    const source = await open("sqlite");
    await fill(source);
    const target = await open(backend);
    const copied = await copyMetadata(source.sql, target);
    expect(copied.find((c) => c.table === "tags")?.rows).toBe(1201);
    expect(copied).toEqual(await countRows(source.sql));
    for (const { name } of metadataTables()) expect({ name, rows: await rows(target.sql, name) }).toEqual({ name, rows: await rows(source.sql, name) });

    const again = copyMetadata(source.sql, target);
    await expect(again).rejects.toBeInstanceOf(TargetNotEmptyError);
    await expect(copyMetadata(source.sql, target)).rejects.toThrow(/not empty \(meta: 1 rows, repositories: 1 rows, blobs: 2 rows, tags: 1201 rows/);
    expect((await countRows(target.sql)).find((c) => c.table === "tags")?.rows).toBe(1201);
  }, 60_000);

  test("a copy that fails part-way leaves the target empty, so the next one can start over", async () => {
    const source = await open("sqlite");
    await fill(source);
    const target = await open(backend);
    const failing = copyMetadata(source.sql, target, (table, copiedRows) => {
      if (table === "tags" && copiedRows > 500) throw new Error("cut off");
    });
    await expect(failing).rejects.toThrow("cut off");
    expect((await countRows(target.sql)).filter((c) => c.rows > 0)).toEqual([]);
    const copied = await copyMetadata(source.sql, target);
    expect(copied).toEqual(await countRows(source.sql));
  }, 60_000);
});
