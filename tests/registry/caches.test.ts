/**
 * The registry's in-memory copies of the tree stay true when the tree changes while they are
 * being read, and do not remember failures or grow without bound.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Catalog } from "../../src/registry/catalog.ts";
import { ManifestCache } from "../../src/registry/manifest-cache.ts";
import { TagLists } from "../../src/registry/tag-lists.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

interface Hold {
  /** resolves with what the held list() read, once it has read the disk and waits */
  held: Promise<string[]>;
  release(): void;
}

/** A filesystem driver whose next list() waits, after reading the disk, until released: the window a race needs. */
class GatedDriver extends FilesystemDriver {
  private gate: { reached(names: string[]): void; open: Promise<void> } | null = null;
  failNextList = false;

  holdNextList(): Hold {
    let release = () => {};
    let reached: (names: string[]) => void = () => {};
    const open = new Promise<void>((resolve) => (release = resolve));
    const held = new Promise<string[]>((resolve) => (reached = resolve));
    this.gate = { reached, open };
    return { held, release };
  }

  override async list(path: string): Promise<string[]> {
    if (this.failNextList) {
      this.failNextList = false;
      throw Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" });
    }
    const names = await super.list(path);
    if (this.gate) {
      const gate = this.gate;
      this.gate = null;
      gate.reached(names);
      await gate.open;
    }
    return names;
  }
}

/** What the held listing read; fails (instead of hanging) when no listing reaches the gate within 5 s. */
async function heldListing(hold: Hold): Promise<string[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("no listing read the disk within 5 s")), 5_000)));
  try {
    return await Promise.race([hold.held, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tagOnDisk(root: string, repo: string, tag: string): void {
  const dir = join(root, "docker/registry/v2/repositories", repo, "_manifests/tags", tag, "current");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "link"), `sha256:${"a".repeat(64)}`);
}

describe("tag lists", () => {
  test("a tag added while the first listing reads the disk is not lost from later listings", async () => {
    const root = tempDir("berth-tags-race-");
    dirs.push(root);
    tagOnDisk(root, "app", "v1");
    const driver = new GatedDriver(root);
    const tags = new TagLists(driver);
    const hold = driver.holdNextList();
    const first = tags.list("app");
    // the race: the first listing has read the disk (before the push) and has not answered yet
    expect(await heldListing(hold)).toEqual(["v1"]);
    tagOnDisk(root, "app", "v2"); // a push lands meanwhile
    tags.added("app", "v2");
    hold.release();
    await first;
    expect(await tags.list("app")).toEqual(["v1", "v2"]);
  });

  test("a tag removed while the first listing reads the disk does not come back", async () => {
    const root = tempDir("berth-tags-race-");
    dirs.push(root);
    tagOnDisk(root, "app", "v1");
    tagOnDisk(root, "app", "v2");
    const driver = new GatedDriver(root);
    const tags = new TagLists(driver);
    const hold = driver.holdNextList();
    const first = tags.list("app");
    expect(await heldListing(hold)).toEqual(["v1", "v2"]); // read before the delete
    removeDir(join(root, "docker/registry/v2/repositories/app/_manifests/tags/v2"));
    tags.removed("app", "v2");
    hold.release();
    await first;
    expect(await tags.list("app")).toEqual(["v1"]);
  });
});

describe("catalog", () => {
  test("a walk that failed once is retried by the next request, not remembered", async () => {
    const root = tempDir("berth-catalog-");
    dirs.push(root);
    mkdirSync(join(root, "docker/registry/v2/repositories/team/app/_manifests"), { recursive: true });
    const driver = new GatedDriver(root);
    const catalog = new Catalog(driver);
    driver.failNextList = true;
    await expect(catalog.all()).rejects.toThrow("EMFILE");
    expect(await catalog.all()).toEqual(["team/app"]);
  });
});

describe("manifest cache", () => {
  const entry = (size: number) => ({ bytes: new Uint8Array(size) });

  test("is bounded by bytes and evicts the least recently used", () => {
    const cache = new ManifestCache<{ bytes: Uint8Array }>(300, 200);
    cache.set("a", entry(100));
    cache.set("b", entry(100));
    cache.get("a"); // a is now the most recent
    cache.set("c", entry(150)); // 350 > 300: b goes
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });

  test("does not keep entries larger than its per-entry limit", () => {
    const cache = new ManifestCache<{ bytes: Uint8Array }>(1000, 200);
    cache.set("big", entry(201));
    expect(cache.get("big")).toBeUndefined();
  });
});
