/**
 * Repository names, tags and digests in paths: valid multi-component names work; invalid or
 * traversal-shaped names, tags and digests (sent raw, so no client normalises them) answer 400 or
 * 404, never 500, and never create a file outside the storage root.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { removeDir, startBerth, tempDir, testWithServerLog, type BerthProcess } from "../helpers/server.ts";
import {
  bytesEqual,
  call,
  EMPTY_CONFIG_BYTES,
  EMPTY_DESCRIPTOR,
  expectAlive,
  expectAnyError,
  expectError,
  expectStatus,
  getManifest,
  imageManifestJson,
  listTree,
  MT,
  NAME_REGEX,
  pushBlob,
  pushImage,
  randomBytes,
  raw,
  serialize,
  sha256,
  show,
  tagsOf,
  type PushedBlob,
  type PushedImage,
  type Resp,
} from "../helpers/oci.ts";

let berth: BerthProcess;

const test = testWithServerLog(() => [berth]);
let parent: string;
let root: string;
let base: string;
const marker = `berthpwn${randomUUID().slice(0, 8)}`;
const GOOD = "names/good";
let good: PushedImage;
let goodBlob: PushedBlob;
let before: string[];
/** an artifact manifest whose only blob (the empty config) is pushed to GOOD */
const artifactBytes = serialize(imageManifestJson({ artifactType: "application/vnd.example.x", config: EMPTY_DESCRIPTOR, layers: [] }));

function outsideRoot(): string[] {
  return listTree(parent).filter((p) => p !== "root" && !p.startsWith("root/"));
}

beforeAll(async () => {
  parent = tempDir("berth-names-");
  root = join(parent, "root");
  mkdirSync(root);
  berth = await startBerth({ root });
  base = berth.url;
  good = await pushImage(base, GOOD, { tag: "v1" });
  goodBlob = await pushBlob(base, GOOD, randomBytes(64));
  await pushBlob(base, GOOD, EMPTY_CONFIG_BYTES);
  before = outsideRoot();
}, 60_000);

afterAll(async () => {
  await berth?.stop();
  if (parent !== undefined) removeDir(parent);
});

/** 400 must carry `code400` (or any code when undefined); 404 is accepted as is; anything else fails. */
function expectRejected(res: Resp, code400?: string): void {
  expect(res.status, show(res)).toBeOneOf([400, 404]);
  if (res.status === 400) {
    if (code400 === undefined) expectAnyError(res, 400);
    else expectError(res, 400, code400);
  }
}

describe("valid names", () => {
  const names = ["myhub/nginx", "a/b/c/d", "my-app", "my__app", "x---y", "a.b/c_d", "0/1/2", "library/ubuntu"];

  test("multi-component and separator-rich names push and pull", async () => {
    for (const name of names) {
      expect(name).toMatch(NAME_REGEX);
      const img = await pushImage(base, name, { tag: "latest" });
      const res = await getManifest(base, name, "latest");
      expectStatus(res, 200);
      expect(res.text).toBe(new TextDecoder().decode(img.bytes));
      const blob = await call(base, `/v2/${name}/blobs/${img.config.digest}`);
      expectStatus(blob, 200);
      expect(bytesEqual(blob.body, img.config.bytes)).toBe(true);
      expect(await tagsOf(base, name)).toEqual(["latest"]);
    }
    const cat = await call(base, "/v2/_catalog");
    expectStatus(cat, 200);
    const repos = (JSON.parse(cat.text) as { repositories: string[] }).repositories;
    for (const name of names) expect(repos).toContain(name);
  });

  test("a parent path of a repository (a/b of a/b/c/d) is not a repository", async () => {
    expectError(await call(base, "/v2/a/b/tags/list"), 404, "NAME_UNKNOWN");
    expectError(await call(base, "/v2/a/tags/list"), 404, "NAME_UNKNOWN");
    const m = await getManifest(base, "a/b", "latest");
    expectError(m, 404, ["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]);
    const cat = await call(base, "/v2/_catalog");
    const repos = (JSON.parse(cat.text) as { repositories: string[] }).repositories;
    for (const parentPath of ["a", "a/b", "a/b/c", "myhub", "library", "0", "0/1"]) expect(repos).not.toContain(parentPath);
  });

  test("tags/list answers the multi-component name in its body", async () => {
    const res = await call(base, "/v2/a/b/c/d/tags/list");
    expectStatus(res, 200);
    expect((JSON.parse(res.text) as { name: string }).name).toBe("a/b/c/d");
  });
});

describe("invalid names", () => {
  const BAD_NAMES = [
    "../x",
    "a//b",
    "A/upper",
    "UPPER",
    "-x",
    "x-",
    "_x",
    "a___b",
    "a/_manifests/tags",
    "names/good/_layers",
    "names/_uploads",
    "a..b",
    "a.-b",
    "x/-y",
    "%2e%2e/x",
    "x/%2e%2e/%2e%2e/y",
    "a%2fb",
    "a%2Fb",
    "a%20b",
    "a%00b",
    `..%2f..%2f..%2f..%2f..%2ftmp%2f${marker}`,
    `${marker}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tmp/${marker}`,
    `%2e%2e/%2e%2e/%2e%2e/${marker}`,
  ];

  test("invalid names answer 400 NAME_INVALID or 404 on every endpoint, never 500", async () => {
    const digest = goodBlob.digest;
    const bytes = randomBytes(32);
    const failures: string[] = [];
    for (const name of BAD_NAMES) {
      const requests: Array<[string, string, Parameters<typeof raw>[3]]> = [
        ["GET", `/v2/${name}/tags/list`, {}],
        ["GET", `/v2/${name}/manifests/latest`, {}],
        ["HEAD", `/v2/${name}/manifests/latest`, {}],
        ["PUT", `/v2/${name}/manifests/latest`, { headers: { "Content-Type": MT.ociManifest }, body: artifactBytes }],
        ["DELETE", `/v2/${name}/manifests/latest`, {}],
        ["GET", `/v2/${name}/blobs/${digest}`, {}],
        ["DELETE", `/v2/${name}/blobs/${digest}`, {}],
        ["POST", `/v2/${name}/blobs/uploads/`, {}],
        ["POST", `/v2/${name}/blobs/uploads/?digest=${sha256(bytes)}`, { headers: { "Content-Type": "application/octet-stream" }, body: bytes }],
        ["POST", `/v2/${name}/blobs/uploads/?mount=${digest}&from=${GOOD}`, {}],
        ["GET", `/v2/${name}/referrers/${digest}`, {}],
      ];
      for (const [method, path, init] of requests) {
        const res = await raw(berth, method, path, init);
        if (res.status !== 400 && res.status !== 404) failures.push(`${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`);
        else if (res.status === 400 && method !== "HEAD") {
          try {
            expectError(res, 400, "NAME_INVALID");
          } catch {
            failures.push(`${method} ${path} → 400 without NAME_INVALID: ${res.text.slice(0, 200)}`);
          }
        }
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
    await expectAlive(berth);
  });

  test("mounting from an invalid name never mounts (400 NAME_INVALID or 202 session), never 500", async () => {
    for (const name of ["../names/good", "%2e%2e/names/good", "NAMES/GOOD", "names//good"]) {
      const target = `names/mount-${Math.random().toString(36).slice(2, 8)}`;
      const res = await raw(berth, "POST", `/v2/${target}/blobs/uploads/?mount=${goodBlob.digest}&from=${name}`);
      expect(res.status, show(res)).toBeOneOf([202, 400]);
      if (res.status === 400) expectError(res, 400, "NAME_INVALID");
    }
  });

  test("a 300-character name answers 400 NAME_INVALID or 404, never 500", async () => {
    const long = `${"a".repeat(150)}/${"b".repeat(149)}`;
    expectRejected(await raw(berth, "GET", `/v2/${long}/tags/list`), "NAME_INVALID");
    expectRejected(await raw(berth, "POST", `/v2/${long}/blobs/uploads/`), "NAME_INVALID");
  });

  test("no file appeared outside the storage root and no traversal target exists", async () => {
    expect(outsideRoot()).toEqual(before);
    for (const p of [`/tmp/${marker}`, `/${marker}`, join(parent, marker)]) expect(existsSync(p), p).toBe(false);
    const hits = listTree(parent).filter((p) => p.includes(marker));
    expect(hits, "paths naming the traversal marker").toEqual([]);
  });

  test("every repository directory in storage has a valid name", async () => {
    const reposDir = join(root, "docker/registry/v2/repositories");
    expect(existsSync(reposDir), `${reposDir} (Distribution layout)`).toBe(true);
    const names = new Set<string>();
    for (const p of listTree(reposDir)) {
      const parts = p.split("/");
      const i = parts.findIndex((s) => s.startsWith("_"));
      if (i > 0) names.add(parts.slice(0, i).join("/"));
    }
    expect(names.size).toBeGreaterThan(0);
    for (const n of names) expect(n, `repository directory ${n}`).toMatch(NAME_REGEX);
  });
});

describe("invalid tags and digests in paths", () => {
  test("bad tags answer 400 (PUT) and 400/404 (GET), never 500, and store nothing", async () => {
    const tags = [
      "bad:tag",
      `t${"a".repeat(128)}`,
      ".hidden",
      "-dash",
      "..",
      "%2e%2e",
      "a%2fb",
      `..%2f..%2f..%2f..%2f..%2f..%2ftmp%2f${marker}`,
      "%2e%2e%2f%2e%2e%2f_layers",
      "tag%00",
    ];
    for (const tag of tags) {
      const put = await raw(berth, "PUT", `/v2/${GOOD}/manifests/${tag}`, { headers: { "Content-Type": MT.ociManifest }, body: artifactBytes });
      expect(put.status, show(put)).toBeOneOf([400, 404]);
      if (put.status === 400) expectAnyError(put, 400);
      const get = await raw(berth, "GET", `/v2/${GOOD}/manifests/${tag}`, { headers: { Accept: MT.ociManifest } });
      expect(get.status, show(get)).toBeOneOf([400, 404]);
      const del = await raw(berth, "DELETE", `/v2/${GOOD}/manifests/${tag}`);
      expect(del.status, show(del)).toBeOneOf([400, 404]);
    }
    expect(await tagsOf(base, GOOD)).toEqual(["v1"]);
    expectStatus(await getManifest(base, GOOD, sha256(artifactBytes), "HEAD"), 404);
    expect(outsideRoot()).toEqual(before);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    await expectAlive(berth);
  });

  test("traversal-shaped digests answer 400 DIGEST_INVALID or 404, never 500", async () => {
    const digests = ["sha256:..%2f..%2f..", "sha256%3a..", "..%2f..%2fblobs", `sha256:${"a".repeat(62)}%2f.`, "sha256:%2e%2e", `..%2f..%2f..%2ftmp%2f${marker}`];
    for (const d of digests) {
      for (const path of [`/v2/${GOOD}/blobs/${d}`, `/v2/${GOOD}/manifests/${d}`, `/v2/${GOOD}/referrers/${d}`]) {
        const res = await raw(berth, "GET", path);
        expect(res.status, show(res)).toBeOneOf([400, 404]);
      }
      const del = await raw(berth, "DELETE", `/v2/${GOOD}/blobs/${d}`);
      expect(del.status, show(del)).toBeOneOf([400, 404]);
    }
    expect(outsideRoot()).toEqual(before);
    await expectAlive(berth);
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    const res = await getManifest(base, GOOD, "v1");
    expectStatus(res, 200);
    expect(res.text).toBe(new TextDecoder().decode(good.bytes));
    const blob = await call(base, `/v2/${GOOD}/blobs/${goodBlob.digest}`);
    expect(bytesEqual(blob.body, goodBlob.bytes)).toBe(true);
  });
});
