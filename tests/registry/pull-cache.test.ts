/**
 * A pull by tag is answered from memory (tag -> digest, revision present, parsed manifest): the
 * answer must change at once when this process changes the tree, and a read that raced with
 * a change must not be remembered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { formatDigest, parseDigest } from "../../src/oci/digest.ts";
import { MediaType } from "../../src/oci/media-types.ts";
import { BlobStore } from "../../src/registry/blobs.ts";
import { ReferenceCache } from "../../src/registry/manifest-cache.ts";
import { ManifestStore, type Reference } from "../../src/registry/manifests.ts";
import { ReferrersIndex } from "../../src/registry/referrers.ts";
import { InMemoryDriver } from "../../src/storage/memory.ts";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { call, expectError, expectStatus, getManifest, MT, pushImage, putManifest, show, utf8 } from "../helpers/oci.ts";

describe("reference cache", () => {
  test("a tag or revision read before a change is not remembered after it", () => {
    const cache = new ReferenceCache<string>();
    const before = cache.version;
    cache.tagChanged("app", "v1");
    cache.rememberTag(before, "app", "v1", "sha256:old");
    expect(cache.tag("app", "v1")).toBeUndefined();
    const beforeDelete = cache.version;
    cache.revisionRemoved("app", "sha256:old");
    cache.rememberRevision(beforeDelete, "app", "sha256:old");
    expect(cache.hasRevision("app", "sha256:old")).toBe(false);
  });

  test("a change forgets the tag or revision it touched, and only that", () => {
    const cache = new ReferenceCache<string>();
    cache.rememberTag(cache.version, "app", "v1", "sha256:a");
    cache.rememberTag(cache.version, "app", "v2", "sha256:b");
    cache.rememberRevision(cache.version, "app", "sha256:a");
    cache.rememberRevision(cache.version, "other", "sha256:a");
    cache.tagChanged("app", "v1");
    cache.revisionRemoved("app", "sha256:a");
    expect(cache.tag("app", "v1")).toBeUndefined();
    expect(cache.tag("app", "v2")).toBe("sha256:b");
    expect(cache.hasRevision("app", "sha256:a")).toBe(false);
    expect(cache.hasRevision("other", "sha256:a")).toBe(true);
    cache.clear();
    expect(cache.tag("app", "v2")).toBeUndefined();
    expect(cache.hasRevision("other", "sha256:a")).toBe(false);
  });

  test("is bounded: past its size the oldest entry goes", () => {
    const cache = new ReferenceCache<string>(2);
    for (const tag of ["a", "b", "c"]) cache.rememberTag(cache.version, "app", tag, `sha256:${tag}`);
    for (const digest of ["a", "b", "c"]) cache.rememberRevision(cache.version, "app", digest);
    expect(cache.tag("app", "a")).toBeUndefined();
    expect(cache.tag("app", "c")).toBe("sha256:c");
    expect(cache.hasRevision("app", "a")).toBe(false);
    expect(cache.hasRevision("app", "c")).toBe(true);
  });
});

interface Hold {
  /** resolves once the held read has read the storage and waits */
  reached: Promise<void>;
  release(): void;
}

/** An in-memory driver whose next read of a path ending in `suffix` waits, after reading, until released. */
class GatedDriver extends InMemoryDriver {
  private gate: { suffix: string; reached(): void; open: Promise<void> } | null = null;

  holdNext(suffix: string): Hold {
    let release = () => {};
    let reached = () => {};
    const open = new Promise<void>((resolve) => (release = resolve));
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    this.gate = { suffix, reached, open };
    return { reached: withinSeconds(reachedPromise, 5), release };
  }

  override async getContent(path: string): Promise<Uint8Array> {
    const bytes = await super.getContent(path);
    await this.pass(path);
    return bytes;
  }

  override async stat(path: string): ReturnType<InMemoryDriver["stat"]> {
    const info = await super.stat(path);
    await this.pass(path);
    return info;
  }

  private async pass(path: string): Promise<void> {
    const gate = this.gate;
    if (!gate || !path.endsWith(gate.suffix)) return;
    this.gate = null;
    gate.reached();
    await gate.open;
  }
}

function withinSeconds<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nothing reached the gate within ${seconds} s`)), seconds * 1000)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An empty OCI index: a manifest that references nothing, so the store needs no blobs. */
function index(note: string): Uint8Array {
  return utf8(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], annotations: { note } }));
}

describe("manifest store: reads that race with changes", () => {
  const setup = () => {
    const driver = new GatedDriver();
    const store = new ManifestStore(driver, new BlobStore(driver), new ReferrersIndex(driver));
    const push = async (reference: Reference, bytes: Uint8Array) => {
      const prepared = await store.prepare("app", reference, bytes, MediaType.OciIndex);
      await store.store(prepared);
      return formatDigest(prepared.digest);
    };
    const digestOf = async (reference: Reference) => formatDigest((await store.get("app", reference)).digest);
    return { driver, store, push, digestOf };
  };

  test("a tag read before it was re-pointed is not served after", async () => {
    const { driver, push, digestOf } = setup();
    const first = await push({ tag: "v1" }, index("first"));
    const hold = driver.holdNext("/_manifests/tags/v1/current/link");
    const racing = digestOf({ tag: "v1" });
    await hold.reached; // it has read the first digest
    const second = await push({ tag: "v1" }, index("second"));
    hold.release();
    expect(await racing).toBe(first);
    expect(await digestOf({ tag: "v1" })).toBe(second);
  });

  test("a revision seen before its manifest was deleted is not served after", async () => {
    const { driver, store, push, digestOf } = setup();
    const digest = await push({ tag: "v1" }, index("doomed"));
    const reference = { digest: parseDigest(digest) };
    const hold = driver.holdNext(`/_manifests/revisions/sha256/${digest.slice(7)}/link`);
    const racing = digestOf(reference);
    await hold.reached;
    await store.delete("app", reference.digest);
    hold.release();
    expect(await racing).toBe(digest);
    await expect(store.get("app", reference)).rejects.toMatchObject({ code: "MANIFEST_UNKNOWN" });
    await expect(store.get("app", { tag: "v1" })).rejects.toMatchObject({ code: "MANIFEST_UNKNOWN" });
  });
});

describe("pulls after changes, with every answer in memory first", () => {
  let berth: InProcessBerth;
  beforeAll(async () => {
    berth = await startInProcess();
  }, 60_000);
  afterAll(async () => {
    await berth?.stop();
  });

  /** GET and HEAD answer 200 with `digest` (twice: the second answer comes from memory). */
  async function expectServed(repo: string, reference: string, digest: string): Promise<void> {
    for (let round = 0; round < 2; round++) {
      for (const method of ["GET", "HEAD"] as const) {
        const res = await getManifest(berth.url, repo, reference, method);
        expectStatus(res, 200);
        expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
      }
    }
  }

  async function expectUnknown(repo: string, reference: string): Promise<void> {
    expectError(await getManifest(berth.url, repo, reference), 404, "MANIFEST_UNKNOWN");
    expectStatus(await getManifest(berth.url, repo, reference, "HEAD"), 404);
  }

  test("a re-pointed tag serves the new manifest at once", async () => {
    const repo = "cache/retag";
    const first = await pushImage(berth.url, repo, { tag: "v1" });
    await expectServed(repo, "v1", first.digest);
    const second = await pushImage(berth.url, repo, { tag: "v1" });
    await expectServed(repo, "v1", second.digest);
    expectStatus(await putManifest(berth.url, repo, "v1", first.bytes, MT.ociManifest), 201);
    await expectServed(repo, "v1", first.digest);
  });

  test("a deleted tag is unknown at once, and a tag pushed again is served", async () => {
    const repo = "cache/tag-delete";
    const image = await pushImage(berth.url, repo, { tag: "v1" });
    await expectServed(repo, "v1", image.digest);
    expectStatus(await call(berth.url, `/v2/${repo}/manifests/v1`, { method: "DELETE" }), 202);
    await expectUnknown(repo, "v1");
    await expectServed(repo, image.digest, image.digest);
    expectStatus(await putManifest(berth.url, repo, "v1", image.bytes, MT.ociManifest), 201);
    await expectServed(repo, "v1", image.digest);
  });

  test("a manifest deleted by digest is unknown at once, by digest and by every tag", async () => {
    const repo = "cache/manifest-delete";
    const image = await pushImage(berth.url, repo, { tag: "v1" });
    expectStatus(await putManifest(berth.url, repo, "v2", image.bytes, MT.ociManifest), 201);
    for (const reference of ["v1", "v2", image.digest]) await expectServed(repo, reference, image.digest);
    expectStatus(await call(berth.url, `/v2/${repo}/manifests/${image.digest}`, { method: "DELETE" }), 202);
    for (const reference of ["v1", "v2", image.digest]) await expectUnknown(repo, reference);
  });

  test("a repository deleted as a whole serves nothing, and serves what is pushed to it again", async () => {
    const repo = "cache/whole";
    const image = await pushImage(berth.url, repo, { tag: "v1" });
    const other = await pushImage(berth.url, "cache/neighbour", { tag: "v1" });
    await expectServed(repo, "v1", image.digest);
    await expectServed("cache/neighbour", "v1", other.digest);
    expectStatus(await call(berth.url, `/api/v1/repositories/${repo}`, { method: "DELETE" }), 202);
    await expectUnknown(repo, "v1");
    await expectUnknown(repo, image.digest);
    await expectServed("cache/neighbour", "v1", other.digest);
    const again = await pushImage(berth.url, repo, { tag: "v1" });
    await expectServed(repo, "v1", again.digest);
  });
});
