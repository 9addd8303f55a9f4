/**
 * The sync barrier: one syncfs covers every caller that asked while it was pending, and a
 * caller never rides a round that started before it asked.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { SyncBarrier, syncBarrierFor } from "../../src/storage/sync-barrier.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
const barriers: SyncBarrier[] = [];
afterEach(() => {
  barriers.splice(0).forEach((b) => b.close());
  dirs.splice(0).forEach(removeDir);
});

function barrier(): SyncBarrier {
  const dir = tempDir("berth-sync-");
  dirs.push(dir);
  const made = new SyncBarrier(dir);
  barriers.push(made);
  return made;
}

test("callers that ask together share rounds: 50 at once take at most two", async () => {
  const b = barrier();
  await Promise.all(Array.from({ length: 50 }, () => b.sync()));
  expect(b.rounds).toBeGreaterThanOrEqual(1);
  expect(b.rounds).toBeLessThanOrEqual(2);
});

test("a caller that asks while a round runs waits for the next one", async () => {
  const b = barrier();
  const order: string[] = [];
  const first = b.sync().then(() => order.push("first"));
  const second = b.sync().then(() => order.push("second")); // the round has started: the next one
  const third = b.sync().then(() => order.push("third")); // shares the second's round
  await Promise.all([first, second, third]);
  expect(b.rounds).toBe(2);
  expect(order[0]).toBe("first");
});

test("one after another, each caller gets its own round", async () => {
  const b = barrier();
  for (let i = 0; i < 3; i++) await b.sync();
  expect(b.rounds).toBe(3);
});

test("directories on one file system share one barrier, also one not made yet", () => {
  const dir = tempDir("berth-sync-");
  dirs.push(dir);
  expect(syncBarrierFor(join(dir, "not", "yet"))).toBe(syncBarrierFor(dir));
});

test("a barrier whose directory was removed since flushes through its parent", async () => {
  const dir = tempDir("berth-sync-");
  const b = new SyncBarrier(join(dir, "gone"));
  barriers.push(b);
  removeDir(dir);
  await b.sync();
  expect(b.rounds).toBe(1);
});
