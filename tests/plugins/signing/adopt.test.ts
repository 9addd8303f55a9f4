/**
 * A single Berth's signature states (state.db) adopted by the first replica on the shared
 * database: the states listed as before, the file renamed, never adopted twice; a state
 * recorded on the shared database since is not overwritten by adopting the file again; a
 * corrupt file is left with a warning.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StateStore } from "../../../plugins/signing/state.ts";
import { metadataBackends } from "../../helpers/postgres.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { adoptedCopy, captureLog, restoreAdopted, type SharedDatabase, sharedDatabase, writeCorrupt } from "../adoption.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

describe.skipIf(!metadataBackends().includes("postgres"))("signature states of a single Berth adopted into the shared database", () => {
  let shared: SharedDatabase;
  const dirs: string[] = [];
  let dir = "";
  let before: Awaited<ReturnType<StateStore["ofRepository"]>> = {};

  beforeAll(async () => {
    shared = await sharedDatabase("berth_adopt_signing");
    dir = tempDir("berth-adopt-signing-");
    dirs.push(dir);
    const alone = await StateStore.open(dir, null);
    await alone.record("team/app", A, { state: "verified", policy: "team", mode: "enforce", signer: "key-1" });
    await alone.record("team/app", B, { state: "unsigned", policy: "team", mode: "enforce", signer: "" });
    before = await alone.ofRepository("team/app");
    await alone.close();
  });

  afterAll(async () => {
    await shared?.close();
    for (const path of dirs) removeDir(path);
  });

  test("the states are listed from the shared store as before; the file is renamed", async () => {
    const { lines, log } = captureLog();
    const store = await StateStore.open(dir, shared.sql, log);
    try {
      expect(existsSync(join(dir, "state.db"))).toBe(false);
      adoptedCopy(dir, "state.db");
      expect(lines.map((line) => [line.level, line.fields.signing_verification])).toEqual([["info", 2]]);
      expect(Object.keys(before)).toHaveLength(2);
      expect(await store.ofRepository("team/app")).toEqual(before);
    } finally {
      await store.close();
    }
  });

  test("opening again adopts nothing; the file put back does not overwrite a newer state", async () => {
    const again = captureLog();
    const store = await StateStore.open(dir, shared.sql, again.log);
    try {
      expect(again.lines).toEqual([]);
      await store.record("team/app", B, { state: "verified", policy: "team", mode: "enforce", signer: "key-2" });
      restoreAdopted(dir, "state.db");
      const once = captureLog();
      await (await StateStore.open(dir, shared.sql, once.log)).close();
      expect(once.lines.find((line) => line.level === "info")?.fields.signing_verification).toBe(0);
      const states = await store.ofRepository("team/app");
      expect([states[A]?.state, states[B]?.state, states[B]?.signer]).toEqual(["verified", "verified", "key-2"]);
    } finally {
      await store.close();
    }
  });

  test("a file that is not a database is left in place with a warning; the store opens", async () => {
    const corruptDir = tempDir("berth-adopt-signing-corrupt-");
    dirs.push(corruptDir);
    const garbage = writeCorrupt(corruptDir, "state.db");
    const { lines, log } = captureLog();
    const store = await StateStore.open(corruptDir, shared.sql, log);
    try {
      expect(lines.map((line) => line.level)).toEqual(["warn"]);
      expect(readFileSync(join(corruptDir, "state.db"), "utf8")).toBe(garbage);
      expect(Object.keys(await store.ofRepository("team/app"))).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
