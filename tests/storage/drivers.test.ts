/**
 * Every storage driver passes the shared contract suite (driver-suite.ts); below it, what
 * only one driver promises.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDriver } from "../../src/storage/create.ts";
import { PathNotFoundError } from "../../src/storage/driver.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { InMemoryDriver } from "../../src/storage/memory.ts";
import { removeDir, tempDir } from "../helpers/server.ts";
import { runDriverSuite, walked } from "./driver-suite.ts";

runDriverSuite("filesystem", async () => {
  const root = tempDir("berth-driver-");
  return { driver: createDriver({ driver: "filesystem", root }), cleanup: async () => removeDir(root) };
});

runDriverSuite("in-memory", async () => ({
  driver: createDriver({ driver: "inmemory", root: "/nonexistent" }),
  cleanup: async () => {},
}));

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeDir));

describe("createDriver", () => {
  test("builds the driver the configuration names", () => {
    const root = tempDir("berth-driver-");
    dirs.push(root);
    expect(createDriver({ driver: "filesystem", root })).toBeInstanceOf(FilesystemDriver);
    expect(createDriver({ driver: "inmemory", root })).toBeInstanceOf(InMemoryDriver);
  });
});

describe("filesystem driver", () => {
  test("a temp file left by a crash is hidden from list and walk, and swept once old", async () => {
    const root = tempDir("berth-driver-");
    dirs.push(root);
    const driver = new FilesystemDriver(root);
    await driver.putContent("docker/dir/data", "data");
    const leftover = join(root, "docker/dir/.data.tmp-4242-1");
    writeFileSync(leftover, "half a write");
    mkdirSync(join(root, "docker/.hidden"));
    writeFileSync(join(root, "docker/.hidden/file"), "x");

    expect(await driver.list("docker/dir")).toEqual(["data"]);
    expect(await driver.list("docker")).toEqual(["dir"]);
    expect((await walked(driver.walk(""))).map((e) => e.path)).toEqual(["docker/dir/data"]);

    expect(await driver.sweepTempFiles(new Date(Date.now() + 60_000))).toBe(1);
    expect(existsSync(leftover)).toBe(false);
    expect(new TextDecoder().decode(await driver.getContent("docker/dir/data"))).toBe("data");
  });
});

describe("in-memory driver", () => {
  test("a Blob already handed out keeps its bytes when the file changes", async () => {
    const driver = new InMemoryDriver();
    await driver.putContent("f", "before");
    const blob = driver.blob("f");
    await driver.putContent("f", "after, and longer");
    const writer = await driver.writer("f");
    await writer.write(new TextEncoder().encode("!"));
    await writer.close();
    expect(await blob.text()).toBe("before");
    expect(await driver.blob("f").text()).toBe("after, and longer!");
  });

  test("blob of an absent path throws PathNotFoundError at once", () => {
    expect(() => new InMemoryDriver().blob("nothing")).toThrow(PathNotFoundError);
  });
});
