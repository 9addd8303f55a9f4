/**
 * GC under load and crashes, against the compiled binary: Berth collects every 200 ms with no
 * review delay while 24 clients push images built from a small pool of shared layers, delete
 * some of their images and push some of those again, and Berth is killed with kill -9 three
 * times (restarted on the same root each time). Every image whose manifest PUT was answered 201
 * (and that its client did not delete since) must then pull completely, and `berth fsck` must
 * find the index and the storage in agreement. On SQLite and, when the tests' PostgreSQL runs,
 * on PostgreSQL.
 */
import { afterAll, describe, expect } from "bun:test";
import { type BuiltImage, imageOf, pullComplete, randomLayer, testStorage, uniqueConfig } from "../helpers/gc.ts";
import { call, type PushedBlob, MT, parseErrors, type Resp, withQuery, localUrl } from "../helpers/oci.ts";
import { metadataBackends } from "../helpers/postgres.ts";
import { RunningServers } from "../helpers/process.ts";
import { type BerthProcess, runBerth, startBerth, testWithServerLog } from "../helpers/server.ts";

const CLIENTS = 24;
const REPOSITORIES = 6;
const KILLS = 3;
/** clients push for this long, the kills fall inside it */
const LOAD_MS = 14_000;
const MAX_IMAGES_PER_CLIENT = 80;
/** tries of one image (a blob GC took, a server killed under it) before the client gives up on it */
const TRIES_PER_IMAGE = 8;
/** tries of one request while the server is down or restarting */
const TRIES_PER_REQUEST = 200;
const REQUEST_TIMEOUT_MS = 10_000;

const servers = new RunningServers();
/** output of the processes killed so far, for a failure message */
const killedOutputs: Array<{ output(): string }> = [];
const test = testWithServerLog(() => [...killedOutputs, ...servers.list()]);
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await servers.stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Acknowledged {
  repo: string;
  tag: string;
  image: BuiltImage;
}

/** What the clients saw, for the assertions and for a failure message. */
class Tally {
  acknowledged = 0;
  blobUnknown = 0;
  connectionLost = 0;
  deleted = 0;
  pushedAgain = 0;
  gaveUp = 0;
  /** answers no client should ever get (a 500, an error code other than the expected ones) */
  readonly unexpected: string[] = [];

  note(res: Resp, expected: number[]): void {
    if (expected.includes(res.status)) return;
    let code = "";
    try {
      code = parseErrors(res)[0]?.code ?? "";
    } catch {
      // not an error envelope: the status says it
    }
    if (res.status === 400 && code === "MANIFEST_BLOB_UNKNOWN") {
      this.blobUnknown++;
      return;
    }
    if (this.unexpected.length < 50) this.unexpected.push(`${res.req} -> ${res.status} ${code} ${res.text.slice(0, 200)}`);
  }
}

/** The server the clients talk to: null while Berth is killed and not yet restarted. */
class Target {
  url: string | null = null;

  /**
   * Runs `op` against the current server. A connection refused or cut (Berth killed) answers
   * null after a short pause, and so does a moment with no server.
   */
  async attempt<T>(op: (base: string) => Promise<T>, tally: Tally): Promise<T | null> {
    const base = this.url;
    if (base !== null) {
      try {
        return await op(base);
      } catch {
        tally.connectionLost++;
      }
    }
    await Bun.sleep(20 + Math.random() * 30);
    return null;
  }
}

/** HEAD, else POST and PUT ?digest=; true once the blob is in the repository. */
async function pushBlobOnce(base: string, repo: string, blob: PushedBlob, tally: Tally): Promise<boolean> {
  const head = await call(base, `/v2/${repo}/blobs/${blob.digest}`, { method: "HEAD", timeoutMs: REQUEST_TIMEOUT_MS });
  if (head.status === 200) return true;
  tally.note(head, [404]);
  const post = await call(base, `/v2/${repo}/blobs/uploads/`, { method: "POST", timeoutMs: REQUEST_TIMEOUT_MS });
  tally.note(post, [202]);
  if (post.status !== 202) return false;
  const target = withQuery(localUrl(base, post.headers.get("location")), { digest: blob.digest });
  const put = await call(base, target.toString(), {
    method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body: blob.bytes, timeoutMs: REQUEST_TIMEOUT_MS,
  });
  tally.note(put, [201]);
  return put.status === 201;
}

/** Pushes the image's blobs and manifest, trying again after a crash or a blob GC took. @returns whether the PUT was answered 201 */
async function pushImage(target: Target, repo: string, tag: string, image: BuiltImage, tally: Tally, deadline: number): Promise<boolean> {
  for (let round = 0; round < TRIES_PER_IMAGE && Date.now() < deadline; round++) {
    let blobsIn = true;
    for (const blob of [image.config, ...image.layers]) {
      let pushed = false;
      for (let i = 0; i < TRIES_PER_REQUEST && !pushed && Date.now() < deadline; i++) {
        pushed = (await target.attempt((base) => pushBlobOnce(base, repo, blob, tally), tally)) === true;
      }
      blobsIn &&= pushed;
    }
    if (!blobsIn) continue;
    const put = await target.attempt(
      (base) => call(base, `/v2/${repo}/manifests/${tag}`, { method: "PUT", headers: { "Content-Type": MT.ociManifest }, body: image.bytes, timeoutMs: REQUEST_TIMEOUT_MS }),
      tally,
    );
    if (put === null) continue; // outcome unknown: not acknowledged; the next round pushes again
    if (put.status === 201) return true;
    tally.note(put, [201]);
  }
  tally.gaveUp++;
  return false;
}

/**
 * One client: images of a unique config, one unique layer and two layers of the shared pool;
 * after every third, it deletes one of its images by digest, and now and then pushes a deleted
 * one again (the same manifest: its blobs may have gone, its bytes as a blob too).
 */
async function client(n: number, target: Target, pool: PushedBlob[], acknowledged: Map<string, Acknowledged>, tally: Tally, deadline: number): Promise<void> {
  const repo = `load/r${n % REPOSITORIES}`;
  const mine: string[] = [];
  const deleted: Acknowledged[] = [];
  for (let i = 0; i < MAX_IMAGES_PER_CLIENT && Date.now() < deadline; i++) {
    const shared = [...pool].sort(() => Math.random() - 0.5).slice(0, 2);
    const again = i % 5 === 4 ? deleted.shift() : undefined;
    const tag = again ? `${again.tag}-again` : `c${n}-${i}`;
    const image = again?.image ?? imageOf(uniqueConfig(), [...shared, randomLayer(1024 + Math.floor(Math.random() * 8192))]);
    if (await pushImage(target, repo, tag, image, tally, deadline)) {
      acknowledged.set(`${repo}:${tag}`, { repo, tag, image });
      mine.push(`${repo}:${tag}`);
      tally.acknowledged++;
      if (again) tally.pushedAgain++;
    }
    if (i % 3 !== 2 || mine.length < 2) continue;
    const victimKey = mine.splice(Math.floor(Math.random() * (mine.length - 1)), 1)[0] ?? ""; // not the newest
    const victim = acknowledged.get(victimKey);
    if (!victim) continue;
    acknowledged.delete(victimKey); // from now on it may or may not be there: nothing is asserted of it
    deleted.push(victim);
    const res = await target.attempt((base) => call(base, `/v2/${repo}/manifests/${victim.image.digest}`, { method: "DELETE", timeoutMs: REQUEST_TIMEOUT_MS }), tally);
    if (res !== null) tally.note(res, [202]);
    if (res?.status === 202) tally.deleted++;
  }
}

describe.each(metadataBackends())("GC in a loop under load and kill -9 (%s)", (backend) => {
  test("every acknowledged image pulls completely and fsck is clean", async () => {
    const storage = await testStorage(backend, "gc-crash");
    cleanups.push(() => storage.remove());
    const env = { ...storage.env, BERTH_GC_DELAY: "0s", BERTH_GC_INTERVAL: "200ms" };
    let berth: BerthProcess = await servers.started(startBerth({ root: storage.root, env }));
    const target = new Target();
    target.url = berth.url;
    const pool = [1500, 3000, 6000, 12_000, 20_000, 33_000].map((size) => randomLayer(size));
    const acknowledged = new Map<string, Acknowledged>();
    const tally = new Tally();
    const deadline = Date.now() + LOAD_MS;

    const kills = (async () => {
      for (let k = 0; k < KILLS; k++) {
        await Bun.sleep(LOAD_MS / (KILLS + 1) - 500 + Math.random() * 1000);
        await berth.kill9();
        target.url = null;
        killedOutputs.push({ output: berth.output });
        await servers.stopped(berth); // already dead: forgets it (the root stays)
        berth = await servers.started(startBerth({ root: storage.root, env }));
        target.url = berth.url;
      }
    })();
    await Promise.all([kills, ...Array.from({ length: CLIENTS }, (_, n) => client(n, target, pool, acknowledged, tally, deadline))]);

    const summary = JSON.stringify({ ...tally, unexpected: tally.unexpected.length, kept: acknowledged.size });
    const errorLines = [...killedOutputs, berth].flatMap((server) => server.output().split("\n").filter((line) => line.includes(" ERROR ")));
    expect(tally.unexpected, `${summary}\n${errorLines.slice(0, 20).join("\n")}`).toEqual([]);
    expect(tally.acknowledged, summary).toBeGreaterThan(100); // the load was real
    expect(tally.deleted, summary).toBeGreaterThan(10);
    expect(tally.connectionLost, summary).toBeGreaterThan(0); // the kills fell under load
    const collected = [...killedOutputs, berth].some((server) => server.output().includes("garbage collected"));
    expect(collected, summary).toBe(true);

    await Bun.sleep(500); // a few more GC runs over the settled storage
    for (const { repo, tag, image } of acknowledged.values()) await pullComplete(berth.url, repo, tag, image.digest);
    await servers.stopped(berth);

    const fsck = await runBerth(["fsck"], { env: storage.env, timeoutMs: 60_000 });
    expect(`${fsck.stdout}\n${fsck.stderr}`).toContain("fsck: clean");
    expect(fsck.code).toBe(0);
    console.log(`[gc-crash ${backend}] ${summary}`);
  }, 120_000);
});
