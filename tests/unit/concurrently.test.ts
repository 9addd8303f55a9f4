import { expect, test } from "bun:test";
import { forEachConcurrently } from "../../src/util/concurrently.ts";

test("every item is worked on once, never more than `limit` at a time", async () => {
  let running = 0;
  let most = 0;
  const seen: number[] = [];
  await forEachConcurrently(Array.from({ length: 40 }, (_, i) => i), 4, async (i) => {
    running++;
    most = Math.max(most, running);
    await Bun.sleep(1);
    seen.push(i);
    running--;
  });
  expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  expect(most).toBe(4);
});

test("takes items from an async generator, each once", async () => {
  async function* numbers() {
    for (let i = 0; i < 20; i++) {
      await Bun.sleep(0);
      yield i;
    }
  }
  const seen: number[] = [];
  await forEachConcurrently(numbers(), 3, async (i) => {
    seen.push(i);
  });
  expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
});

test("after a failure no new item starts, and the first error is thrown", async () => {
  const started: number[] = [];
  const run = forEachConcurrently(Array.from({ length: 100 }, (_, i) => i), 2, async (i) => {
    started.push(i);
    await Bun.sleep(1);
    if (i === 3) throw new Error("item 3 failed");
  });
  await expect(run).rejects.toThrow("item 3 failed");
  expect(started.length).toBeLessThan(10);
});
