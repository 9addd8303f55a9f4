import { describe, expect, test } from "bun:test";
import { RepositoryLock } from "../../src/registry/repository-lock.ts";

/** A task that runs until released, recording when it started and ended. */
function gate() {
  let release = () => {};
  const done = new Promise<void>((resolve) => (release = resolve));
  return { release, done };
}

describe("repository lock", () => {
  test("shared holders run together; an exclusive one waits for them and blocks later ones", async () => {
    const lock = new RepositoryLock();
    const events: string[] = [];
    const a = gate();
    const b = gate();
    const first = lock.shared("r", async () => {
      events.push("a+");
      await a.done;
      events.push("a-");
    });
    const second = lock.shared("r", async () => {
      events.push("b+");
      await b.done;
      events.push("b-");
    });
    const writer = lock.exclusive("r", async () => {
      events.push("w");
    });
    const late = lock.shared("r", async () => {
      events.push("c");
    });
    // A holder that may go runs at once, up to its first await: both readers are in, while the
    // writer and the late reader (who may not overtake a waiting writer) have not started.
    expect(events).toEqual(["a+", "b+"]);
    a.release();
    // `first` settles after a left and woke whoever may go next; one woken would have started by now
    await first;
    expect(events).toEqual(["a+", "b+", "a-"]);
    b.release();
    await Promise.all([first, second, writer, late]);
    expect(events).toEqual(["a+", "b+", "a-", "b-", "w", "c"]);
  });

  test("other repositories are not blocked, and a failing holder releases the lock", async () => {
    const lock = new RepositoryLock();
    const held = gate();
    const busy = lock.exclusive("one", () => held.done);
    let other = false;
    await lock.exclusive("two", async () => {
      other = true;
    });
    expect(other).toBe(true);
    held.release();
    await busy;
    await expect(lock.exclusive("one", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await lock.shared("one", async () => "free")).toBe("free");
  });
});
