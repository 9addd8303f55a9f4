/**
 * Content discovery: GET /v2/<name>/tags/list (end-8a/8b) and GET /v2/_catalog, with n/last
 * pagination and Link: <...>; rel="next".
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { testWithServerLog } from "../helpers/server.ts";
import {
  call,
  expectAlive,
  expectError,
  expectStatus,
  MT,
  nextLink,
  pushImage,
  putManifest,
  show,
  type PushedImage,
  type Resp,
} from "../helpers/oci.ts";

let berth: InProcessBerth;

const test = testWithServerLog(() => [berth]);
let base: string;
const REPO = "tags/many";
// all lower case, so byte order and case-insensitive order agree
const TAGS = ["v1", "v10", "v2", "1.0", "1.0-rc1", "alpha", "beta", "latest", "a.b", "a-b"];
const SORTED = [...TAGS].sort();
const createdRepos = new Set<string>();
let image: PushedImage;

async function push(repo: string, tag: string): Promise<PushedImage> {
  createdRepos.add(repo);
  return pushImage(base, repo, { tag });
}

interface TagList {
  name: string;
  tags: string[];
}

function parseTags(res: Resp): TagList {
  const doc = JSON.parse(res.text) as { name?: unknown; tags?: unknown };
  expect(typeof doc.name, show(res)).toBe("string");
  const tags = doc.tags === null ? [] : doc.tags;
  expect(Array.isArray(tags), show(res)).toBe(true);
  return { name: String(doc.name), tags: tags as string[] };
}

function parseCatalog(res: Resp): string[] {
  const doc = JSON.parse(res.text) as { repositories?: unknown };
  const repos = doc.repositories === null ? [] : doc.repositories;
  expect(Array.isArray(repos), show(res)).toBe(true);
  return repos as string[];
}

beforeAll(async () => {
  berth = await startInProcess();
  base = berth.url;
  image = await push(REPO, TAGS[0] ?? "v1");
  for (const tag of TAGS.slice(1)) {
    expectStatus(await putManifest(base, REPO, tag, image.bytes, MT.ociManifest), 201);
  }
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

describe("tags/list", () => {
  test("GET tags/list returns every tag in lexical order with the repository name and no Link", async () => {
    const res = await call(base, `/v2/${REPO}/tags/list`);
    expectStatus(res, 200);
    expect(res.headers.get("content-type") ?? "", show(res)).toMatch(/^application\/json/);
    expect(parseTags(res)).toEqual({ name: REPO, tags: SORTED });
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("?n= pages in lexical order with Link rel=next until the last page, which has none", async () => {
    const seen: string[] = [];
    let next: string | null = `/v2/${REPO}/tags/list?n=3`;
    let pages = 0;
    for (; next !== null && pages < 20; pages++) {
      const res: Resp = await call(base, next);
      expectStatus(res, 200);
      const page = parseTags(res).tags;
      seen.push(...page);
      next = nextLink(res);
      if (next !== null) {
        expect(page.length, `a page with a Link must be full\n${show(res)}`).toBe(3);
        const url = new URL(next, base);
        expect(url.pathname, show(res)).toBe(`/v2/${REPO}/tags/list`);
        expect(url.searchParams.get("n"), show(res)).toBe("3");
        expect(url.searchParams.get("last"), show(res)).toBe(page[page.length - 1] ?? null);
      } else {
        expect(page.length, show(res)).toBeLessThanOrEqual(3);
      }
    }
    expect(pages).toBe(Math.ceil(SORTED.length / 3));
    expect(seen).toEqual(SORTED);
  });

  test("?n= equal to the number of tags returns them all without Link", async () => {
    const res = await call(base, `/v2/${REPO}/tags/list?n=${SORTED.length}`);
    expectStatus(res, 200);
    expect(parseTags(res).tags).toEqual(SORTED);
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("?n= larger than the number of tags returns them all without Link", async () => {
    const res = await call(base, `/v2/${REPO}/tags/list?n=500`);
    expectStatus(res, 200);
    expect(parseTags(res).tags).toEqual(SORTED);
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("?n=0 returns an empty list and no Link", async () => {
    const res = await call(base, `/v2/${REPO}/tags/list?n=0`);
    expectStatus(res, 200);
    expect(parseTags(res).tags).toEqual([]);
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("?last= returns the tags after it (exclusive), with and without n", async () => {
    const after = SORTED.filter((t) => t > "alpha");
    const all = await call(base, `/v2/${REPO}/tags/list?last=alpha`);
    expectStatus(all, 200);
    expect(parseTags(all).tags).toEqual(after);
    const two = await call(base, `/v2/${REPO}/tags/list?n=2&last=alpha`);
    expectStatus(two, 200);
    expect(parseTags(two).tags).toEqual(after.slice(0, 2));
    expect(nextLink(two), show(two)).not.toBeNull();
  });

  test("?last= naming a tag that does not exist starts after its lexical position", async () => {
    const res = await call(base, `/v2/${REPO}/tags/list?last=b`);
    expectStatus(res, 200);
    expect(parseTags(res).tags).toEqual(SORTED.filter((t) => t > "b"));
  });

  test("?last= at the final tag returns an empty list without Link", async () => {
    const last = SORTED[SORTED.length - 1] ?? "";
    const res = await call(base, `/v2/${REPO}/tags/list?n=5&last=${last}`);
    expectStatus(res, 200);
    expect(parseTags(res).tags).toEqual([]);
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("invalid n (abc, -1, 1.5, empty) answers 400 PAGINATION_NUMBER_INVALID", async () => {
    for (const n of ["abc", "-1", "1.5", "", "1e3", "0x10"]) {
      expectError(await call(base, `/v2/${REPO}/tags/list?n=${n}`), 400, "PAGINATION_NUMBER_INVALID");
    }
    await expectAlive(berth);
  });

  test("tags/list of an unknown repository answers 404 NAME_UNKNOWN", async () => {
    expectError(await call(base, "/v2/tags/never-pushed/tags/list"), 404, "NAME_UNKNOWN");
  });

  test("a repository whose only tag was deleted lists no tags", async () => {
    const repo = "tags/emptied";
    const img = await push(repo, "only");
    expectStatus(await call(base, `/v2/${repo}/manifests/only`, { method: "DELETE" }), 202);
    const res = await call(base, `/v2/${repo}/tags/list`);
    expectStatus(res, 200);
    expect(parseTags(res).tags).toEqual([]);
    // the manifest itself is still there
    expectStatus(await call(base, `/v2/${repo}/manifests/${img.digest}`, { method: "HEAD", headers: { Accept: MT.ociManifest } }), 200);
  });

  test("upper-case tags sort case-insensitively alphanumeric (spec: lexical order, i.e. case-insensitive)", async () => {
    const repo = "tags/mixed-case";
    const img = await push(repo, "b");
    for (const tag of ["A", "c", "B2"]) expectStatus(await putManifest(base, repo, tag, img.bytes, MT.ociManifest), 201);
    const res = await call(base, `/v2/${repo}/tags/list`);
    expectStatus(res, 200);
    const tags = parseTags(res).tags;
    expect(tags).toEqual(["A", "b", "B2", "c"]);
  });

  test("unknown methods on tags/list answer 405 UNSUPPORTED with the JSON error envelope", async () => {
    for (const method of ["PUT", "POST", "DELETE", "PATCH"]) {
      expectError(await call(base, `/v2/${REPO}/tags/list`, { method }), 405, "UNSUPPORTED");
    }
    const res = await call(base, `/v2/${REPO}/tags/list`);
    expect(parseTags(res).tags).toEqual(SORTED);
  });
});

describe("_catalog", () => {
  const CATALOG_REPOS = ["alpha", "alpha/one", "alpha-two", "beta", "beta/x/y", "gamma.delta", "z9"];

  beforeAll(async () => {
    for (const repo of CATALOG_REPOS) await push(repo, "t");
  }, 60_000);

  function expected(): string[] {
    return [...createdRepos].sort();
  }

  test("GET /v2/_catalog lists every repository in lexical order without Link", async () => {
    const res = await call(base, "/v2/_catalog");
    expectStatus(res, 200);
    expect(parseCatalog(res)).toEqual(expected());
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("?n= pages the catalog with Link rel=next until the last page, which has none", async () => {
    const all = expected();
    const seen: string[] = [];
    let next: string | null = "/v2/_catalog?n=2";
    let pages = 0;
    for (; next !== null && pages < 50; pages++) {
      const res: Resp = await call(base, next);
      expectStatus(res, 200);
      const page = parseCatalog(res);
      seen.push(...page);
      next = nextLink(res);
      if (next !== null) {
        expect(page.length, show(res)).toBe(2);
        const url = new URL(next, base);
        expect(url.pathname, show(res)).toBe("/v2/_catalog");
        expect(url.searchParams.get("last"), show(res)).toBe(page[1] ?? null);
      }
    }
    expect(pages).toBe(Math.ceil(all.length / 2));
    expect(seen).toEqual(all);
  });

  test("?n=&last= returns the repositories after last", async () => {
    const res = await call(base, "/v2/_catalog?n=2&last=alpha-two");
    expectStatus(res, 200);
    expect(parseCatalog(res)).toEqual(expected().filter((r) => r > "alpha-two").slice(0, 2));
  });

  test("?n=0 returns an empty catalog and no Link", async () => {
    const res = await call(base, "/v2/_catalog?n=0");
    expectStatus(res, 200);
    expect(parseCatalog(res)).toEqual([]);
    expect(res.headers.get("link"), show(res)).toBeNull();
  });

  test("invalid n on the catalog answers 400 PAGINATION_NUMBER_INVALID", async () => {
    for (const n of ["abc", "-1", "1.5"]) expectError(await call(base, `/v2/_catalog?n=${n}`), 400, "PAGINATION_NUMBER_INVALID");
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    const res = await call(base, `/v2/${REPO}/tags/list`);
    expect(parseTags(res).tags).toEqual(SORTED);
    const m = await call(base, `/v2/${REPO}/manifests/latest`, { headers: { Accept: MT.ociManifest } });
    expect(m.text).toBe(new TextDecoder().decode(image.bytes));
  });
});
