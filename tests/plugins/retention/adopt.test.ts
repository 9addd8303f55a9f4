/**
 * A single Berth's retention store (retention.db) adopted by the first replica on the shared
 * database: undo records (restorable, a restored one not), runs (listed newest first) and the
 * schedule (a policy that just ran is not run again); the file renamed, never adopted twice;
 * adopting it again (a failed rename) duplicates no undo record; a corrupt file is left.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RetentionStore } from "../../../plugins/retention/store.ts";
import { metadataBackends } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { adoptedCopy, captureLog, restoreAdopted, type SharedDatabase, sharedDatabase, writeCorrupt } from "../adoption.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const HOUR = 3_600_000;

describe.skipIf(!metadataBackends().includes("postgres"))("retention data of a single Berth adopted into the shared database", () => {
  let shared: SharedDatabase;
  const dirs: string[] = [];
  let dir = "";
  const now = Date.now();

  beforeAll(async () => {
    shared = await sharedDatabase("berth_adopt_retention");
    dir = tempDir("berth-adopt-retention-");
    dirs.push(dir);
    const alone = await RetentionStore.open(dir, null);
    await alone.recordRemoval({ repository: "team/app", tag: "v1", digest: A, removedAt: now - 2 * HOUR }, "run-1");
    await alone.recordRemoval({ repository: "team/app", tag: "v2", digest: B, removedAt: now - 2 * HOUR }, "run-1");
    await alone.markRestored("team/app", "v2", B, now - HOUR);
    await alone.saveRun("run-1", now - 2 * HOUR, { id: "run-1", deleted: 2 });
    await alone.saveRun("run-2", now - HOUR, { id: "run-2", deleted: 0 });
    expect(await alone.claimScheduled(0, now - HOUR, HOUR)).toBe(true);
    await alone.close();
  });

  afterAll(async () => {
    await shared?.close();
    for (const path of dirs) removeDir(path);
  });

  test("undo records, runs and the schedule are seen through the shared store; the file is renamed", async () => {
    const { lines, log } = captureLog();
    const store = await RetentionStore.open(dir, shared.sql, log);
    try {
      expect(existsSync(join(dir, "retention.db"))).toBe(false);
      adoptedCopy(dir, "retention.db");
      const info = lines.filter((line) => line.level === "info");
      expect(info.map((line) => [line.fields.retention_removed_tags, line.fields.retention_runs, line.fields.retention_schedule])).toEqual([[2, 2, 1]]);
      expect(lines.filter((line) => line.level === "warn")).toEqual([]);

      expect(await store.restorable("team/app", "v1", now - 7 * 24 * HOUR)).toEqual({ repository: "team/app", tag: "v1", digest: A, removedAt: now - 2 * HOUR });
      expect(await store.restorable("team/app", "v2", now - 7 * 24 * HOUR)).toBeNull(); // restored before the move
      expect(await store.held("team/app", A, now - 7 * 24 * HOUR)).toBe(true);
      expect(await store.runs(10)).toEqual([{ id: "run-2", deleted: 0 }, { id: "run-1", deleted: 2 }]);
      expect(await store.claimScheduled(0, now, 2 * HOUR)).toBe(false); // it ran an hour ago on the single Berth
    } finally {
      await store.close();
    }
  });

  test("opening again adopts nothing; the same file put back adds no undo record or run", async () => {
    const again = captureLog();
    await (await RetentionStore.open(dir, shared.sql, again.log)).close();
    expect(again.lines).toEqual([]);

    restoreAdopted(dir, "retention.db");
    const once = captureLog();
    const store = await RetentionStore.open(dir, shared.sql, once.log);
    try {
      const info = once.lines.find((line) => line.level === "info");
      expect([info?.fields.retention_removed_tags, info?.fields.retention_runs, info?.fields.retention_schedule]).toEqual([0, 0, 0]);
      const [row] = await shared.sql`SELECT count(*)::int AS n FROM retention_removed_tags`;
      expect(row?.n).toBe(2);
      expect(await store.runs(10)).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  test("a restore made on the shared store is not undone by adopting the file again", async () => {
    const store = await RetentionStore.open(dir, shared.sql);
    try {
      await store.markRestored("team/app", "v1", A, now);
      restoreAdopted(dir, "retention.db");
      const reopened = await RetentionStore.open(dir, shared.sql);
      await reopened.close();
      expect(await store.restorable("team/app", "v1", now - 7 * 24 * HOUR)).toBeNull();
    } finally {
      await store.close();
    }
  });

  test("a file that is not a database is left in place with a warning; the store opens", async () => {
    const corruptDir = tempDir("berth-adopt-retention-corrupt-");
    dirs.push(corruptDir);
    const garbage = writeCorrupt(corruptDir, "retention.db");
    const { lines, log } = captureLog();
    const store = await RetentionStore.open(corruptDir, shared.sql, log);
    try {
      expect(lines.map((line) => line.level)).toEqual(["warn"]);
      expect(readFileSync(join(corruptDir, "retention.db"), "utf8")).toBe(garbage);
      expect(await store.runs(10)).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
