/**
 * A single Berth's replication queue (SQLite) adopted by the first replica on the shared
 * database: its jobs (queue order kept, a claim left by the stopped process cleared) and each
 * rule's last success, error and reconcile; the file renamed, never adopted twice; adopting it
 * again (a failed rename) duplicates nothing; a corrupt file is left with a warning.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ReplicationQueue } from "../../../plugins/replication/queue.ts";
import { metadataBackends } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { adoptedCopy, captureLog, restoreAdopted, type SharedDatabase, sharedDatabase, writeCorrupt } from "../adoption.ts";

const DIGEST = `sha256:${"c".repeat(64)}`;

describe.skipIf(!metadataBackends().includes("postgres"))("replication jobs of a single Berth adopted into the shared database", () => {
  let shared: SharedDatabase;
  const dirs: string[] = [];
  let dir = "";
  const now = Date.now();

  beforeAll(async () => {
    shared = await sharedDatabase("berth_adopt_replication");
    dir = tempDir("berth-adopt-replication-");
    dirs.push(dir);
    const alone = await ReplicationQueue.open(dir);
    await alone.enqueue("mirror", "tag", "app", "v1", DIGEST, now - 2_000);
    await alone.enqueue("mirror", "delete-tag", "app", "old", DIGEST, now - 1_000);
    await alone.enqueue("backup", "digest", "lib", DIGEST, DIGEST, now - 500);
    const failing = await alone.due("mirror", now, 60_000);
    if (!failing) throw new Error("nothing due");
    await alone.failed(failing, "target refused", now - 100, now - 100);
    await alone.reconciled("mirror", now - 50);
    // a job being copied when the process stopped: claimed for an hour
    expect((await alone.due("backup", now, 3_600_000))?.reference).toBe(DIGEST);
    await alone.close();
  });

  afterAll(async () => {
    await shared?.close();
    for (const path of dirs) removeDir(path);
  });

  test("jobs and rules' states are copied, the file renamed, one info line with the counts", async () => {
    const { lines, log } = captureLog();
    const queue = await ReplicationQueue.open(dir, { replica: "r1", database: shared.sql }, log);
    try {
      expect(existsSync(join(dir, "queue.db"))).toBe(false);
      adoptedCopy(dir, "queue.db");
      expect(lines.map((line) => [line.level, line.fields.replication_jobs, line.fields.replication_rules])).toEqual([["info", 3, 1]]);
      const mirror = await queue.state("mirror");
      expect(mirror).toEqual({ pending: 2, failing: 1, lastSuccessAt: null, lastErrorAt: now - 100, lastError: "target refused", lastReconcileAt: now - 50 });
      // queue order kept: the failed copy of v1 (due again) before the delete of "old"
      const first = await queue.due("mirror", now + 1_000, 60_000);
      expect([first?.kind, first?.reference, first?.attempts]).toEqual(["tag", "v1", 1]);
      expect((await queue.due("mirror", now + 1_000, 60_000))?.reference).toBe("old"); // v1 is claimed now
      // the claim the stopped process held is gone: the job is due at once
      const backup = await queue.due("backup", now, 60_000);
      expect([backup?.kind, backup?.repository]).toEqual(["digest", "lib"]);
    } finally {
      await queue.close();
    }
  });

  test("opening again adopts nothing; the same file put back adds no job", async () => {
    const again = captureLog();
    await (await ReplicationQueue.open(dir, { replica: "r1", database: shared.sql }, again.log)).close();
    expect(again.lines).toEqual([]);

    restoreAdopted(dir, "queue.db");
    const once = captureLog();
    const queue = await ReplicationQueue.open(dir, { replica: "r2", database: shared.sql }, once.log);
    try {
      const info = once.lines.find((line) => line.level === "info");
      expect([info?.fields.replication_jobs, info?.fields.replication_rules]).toEqual([0, 0]);
      expect((await queue.state("mirror")).pending).toBe(2);
      expect((await queue.state("backup")).pending).toBe(1);
    } finally {
      await queue.close();
    }
  });

  test("a file that is not a database is left in place with a warning; the queue opens", async () => {
    const corruptDir = tempDir("berth-adopt-replication-corrupt-");
    dirs.push(corruptDir);
    const garbage = writeCorrupt(corruptDir, "queue.db");
    const { lines, log } = captureLog();
    const queue = await ReplicationQueue.open(corruptDir, { replica: "r1", database: shared.sql }, log);
    try {
      expect(lines.map((line) => line.level)).toEqual(["warn"]);
      expect(readFileSync(join(corruptDir, "queue.db"), "utf8")).toBe(garbage);
      expect((await queue.state("backup")).pending).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
