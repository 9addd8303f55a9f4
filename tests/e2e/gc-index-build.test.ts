/**
 * The first start over a tree Distribution wrote (no metadata index): Berth serves pushes and
 * pulls while it builds the index in the background, and once built its catalog and tag lists
 * hold everything, what was there and what was pushed meanwhile; fsck is clean. On SQLite and,
 * when the tests' PostgreSQL runs, on PostgreSQL.
 */
import { describe, expect } from "bun:test";
import { startDistribution } from "../helpers/distribution.ts";
import { imageOf, pullComplete, pushBuiltImage, randomLayer, testStorage, uniqueConfig } from "../helpers/gc.ts";
import { call, expectStatus, localUrl, pushImage, tagsOf, waitFor } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { writeRepositories } from "../helpers/registry-tree.ts";
import { runBerth, startBerth, serverSuite, waitForOutput } from "../helpers/server.ts";

/** enough repositories that the build is still running while the test pushes and pulls */
const BULK = 2500;
const BUILT = "metadata index built from the storage";

const { servers, cleanups, test } = serverSuite();

/** Every name the catalog lists, following its Link pages (at most 50). */
async function catalog(base: string): Promise<string[]> {
  const names: string[] = [];
  let path: string | null = "/v2/_catalog?n=1000";
  for (let page = 0; page < 50 && path !== null; page++) {
    const res = await call(base, path);
    expectStatus(res, 200);
    const body: unknown = JSON.parse(res.text);
    if (typeof body !== "object" || body === null || !("repositories" in body) || !Array.isArray(body.repositories)) throw new Error(`not a catalog: ${res.text}`);
    for (const name of body.repositories) names.push(String(name));
    const link = res.headers.get("link");
    path = link === null ? null : localUrl(base, /<([^>]*)>/.exec(link)?.[1] ?? null).toString();
  }
  return names;
}

describe.each(metadataBackends())("first start over a Distribution tree (%s)", (backend) => {
  test("pushes and pulls work while the index builds; then the catalog and tags are complete and fsck is clean", async () => {
    const storage = await testStorage(backend, "gc-build");
    cleanups.push(() => storage.remove());
    const distribution = await servers.started(startDistribution({ root: storage.root }));
    const alpine = await pushImage(distribution.url, "library/alpine", { tag: "3.20" });
    await pushImage(distribution.url, "library/alpine", { tag: "latest" });
    const app = await pushImage(distribution.url, "team/app", { tag: "v1", layerCount: 2 });
    await servers.stopped(distribution);
    const bulk = writeRepositories(storage.root, "bulk/repo", BULK);
    // on disk before Berth starts: its first push would otherwise flush these thousands of files
    // (one syncfs), and the build would end first
    Bun.spawnSync(["sync"]);
    const last = bulk[BULK - 1];
    if (last === undefined) throw new Error("no bulk repositories");

    const berth = await servers.started(startBerth({ root: storage.root, env: storage.env }));
    // while the build runs: pulls of what Distribution stored, pushes to new and existing repositories
    await pullComplete(berth.url, "library/alpine", "3.20", alpine.digest);
    await pullComplete(berth.url, "team/app", "v1", app.digest);
    await pullComplete(berth.url, last.repository, "v1", last.digest);
    const pushed = {
      fresh: imageOf(uniqueConfig(), [randomLayer(3000)]),
      alpine: imageOf(uniqueConfig(), [randomLayer(2000)]),
      tail: imageOf(uniqueConfig(), [randomLayer(1000)]),
    };
    await pushBuiltImage(berth.url, "new/app", "v1", pushed.fresh);
    await pushBuiltImage(berth.url, "library/alpine", "edge", pushed.alpine);
    await pushBuiltImage(berth.url, last.repository, "v2", pushed.tail);
    await pullComplete(berth.url, "new/app", "v1", pushed.fresh.digest);
    await pullComplete(berth.url, "library/alpine", "edge", pushed.alpine.digest);
    await pullComplete(berth.url, last.repository, "v2", pushed.tail.digest);
    expect(berth.output(), `the build ended before the pushes and pulls did: raise BULK (${BULK})`).not.toContain(BUILT);

    expect(await waitForOutput(berth, BUILT, 90_000)).toContain(BUILT);
    const expected = ["library/alpine", "new/app", "team/app", ...bulk.map((image) => image.repository)].sort();
    let names: string[] = [];
    const complete = await waitFor(async () => {
      names = await catalog(berth.url);
      return names.length >= expected.length;
    }, 30_000);
    expect(complete).toBe(true);
    expect([...names].sort()).toEqual(expected);
    expect(await tagsOf(berth.url, "library/alpine")).toEqual(["3.20", "edge", "latest"]);
    expect(await tagsOf(berth.url, last.repository)).toEqual(["v1", "v2"]);
    expect(await tagsOf(berth.url, "new/app")).toEqual(["v1"]);
    expect(await tagsOf(berth.url, "bulk/repo-0")).toEqual(["v1"]);

    const fsck = await runBerth(["fsck"], { env: storage.env, timeoutMs: 90_000 });
    expect(fsck.stdout).toContain("fsck: clean");
    expect(fsck.code).toBe(0);
    await servers.stopped(berth);
  }, 180_000);
});
