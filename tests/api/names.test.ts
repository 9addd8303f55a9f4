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

/** The answer with `status` and `code`; a HEAD answer has no body, so its status alone. */
function expectAnswer(method: string, res: Resp, status: number, code: string): void {
  if (method === "HEAD") expectStatus(res, status);
  else expectError(res, status, code);
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
    expectError(await getManifest(base, "a/b", "latest"), 404, "MANIFEST_UNKNOWN");
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
  // A name with a ".." segment (raw or percent-encoded: the URL parser resolves both) leaves no
  // registry endpoint to answer (404 NOT_FOUND); any other name the grammar refuses is NAME_INVALID.
  const BAD_NAMES: Array<[string, number, string]> = [
    ["../x", 404, "NOT_FOUND"],
    ["a//b", 400, "NAME_INVALID"],
    ["A/upper", 400, "NAME_INVALID"],
    ["UPPER", 400, "NAME_INVALID"],
    ["-x", 400, "NAME_INVALID"],
    ["x-", 400, "NAME_INVALID"],
    ["_x", 400, "NAME_INVALID"],
    ["a___b", 400, "NAME_INVALID"],
    ["a/_manifests/tags", 400, "NAME_INVALID"],
    ["names/good/_layers", 400, "NAME_INVALID"],
    ["names/_uploads", 400, "NAME_INVALID"],
    ["a..b", 400, "NAME_INVALID"],
    ["a.-b", 400, "NAME_INVALID"],
    ["x/-y", 400, "NAME_INVALID"],
    ["%2e%2e/x", 404, "NOT_FOUND"],
    ["x/%2e%2e/%2e%2e/y", 404, "NOT_FOUND"],
    ["a%2fb", 400, "NAME_INVALID"],
    ["a%2Fb", 400, "NAME_INVALID"],
    ["a%20b", 400, "NAME_INVALID"],
    ["a%00b", 400, "NAME_INVALID"],
    [`..%2f..%2f..%2f..%2f..%2ftmp%2f${marker}`, 400, "NAME_INVALID"],
    [`${marker}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tmp/${marker}`, 404, "NOT_FOUND"],
    [`%2e%2e/%2e%2e/%2e%2e/${marker}`, 404, "NOT_FOUND"],
  ];

  test.each(BAD_NAMES)("the invalid name %p answers %i %s on every endpoint", async (name, status, code) => {
    const digest = goodBlob.digest;
    const bytes = randomBytes(32);
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
    for (const [method, path, init] of requests) expectAnswer(method, await raw(berth, method, path, init), status, code);
    await expectAlive(berth);
  });

  test("mounting from an invalid name answers 400 NAME_INVALID and mounts nothing", async () => {
    for (const name of ["../names/good", "%2e%2e/names/good", "NAMES/GOOD", "names//good"]) {
      const target = `names/mount-${Math.random().toString(36).slice(2, 8)}`;
      expectError(await raw(berth, "POST", `/v2/${target}/blobs/uploads/?mount=${goodBlob.digest}&from=${name}`), 400, "NAME_INVALID");
      expectStatus(await call(base, `/v2/${target}/blobs/${goodBlob.digest}`, { method: "HEAD" }), 404);
    }
  });

  test("a 300-character name answers 400 NAME_INVALID", async () => {
    const long = `${"a".repeat(150)}/${"b".repeat(149)}`;
    expectError(await raw(berth, "GET", `/v2/${long}/tags/list`), 400, "NAME_INVALID");
    expectError(await raw(berth, "POST", `/v2/${long}/blobs/uploads/`), 400, "NAME_INVALID");
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
  // A tag with a ".." segment leaves no registry endpoint (404 NOT_FOUND on every method); any other
  // reference that is neither a tag nor a digest cannot be pushed (400) and names no manifest (404).
  test.each([
    ["bad:tag", 400, "DIGEST_INVALID"], // the shape of a digest, algorithm:encoded
    [`t${"a".repeat(128)}`, 400, "MANIFEST_INVALID"],
    [".hidden", 400, "MANIFEST_INVALID"],
    ["-dash", 400, "MANIFEST_INVALID"],
    ["..", 404, "NOT_FOUND"],
    ["%2e%2e", 404, "NOT_FOUND"],
    ["a%2fb", 400, "MANIFEST_INVALID"],
    [`..%2f..%2f..%2f..%2f..%2f..%2ftmp%2f${marker}`, 400, "MANIFEST_INVALID"],
    ["%2e%2e%2f%2e%2e%2f_layers", 400, "MANIFEST_INVALID"],
    ["tag%00", 400, "MANIFEST_INVALID"],
  ])("the bad tag %p answers PUT with %i %s and GET and DELETE with 404, and stores nothing", async (tag, putStatus, putCode) => {
    const [status, code] = putStatus === 404 ? [404, "NOT_FOUND"] : [404, "MANIFEST_UNKNOWN"];
    expectError(await raw(berth, "PUT", `/v2/${GOOD}/manifests/${tag}`, { headers: { "Content-Type": MT.ociManifest }, body: artifactBytes }), putStatus, putCode);
    expectError(await raw(berth, "GET", `/v2/${GOOD}/manifests/${tag}`, { headers: { Accept: MT.ociManifest } }), status, code);
    expectError(await raw(berth, "DELETE", `/v2/${GOOD}/manifests/${tag}`), status, code);
    expect(await tagsOf(base, GOOD)).toEqual(["v1"]);
    expectStatus(await getManifest(base, GOOD, sha256(artifactBytes), "HEAD"), 404);
    expect(outsideRoot()).toEqual(before);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    await expectAlive(berth);
  });

  test("traversal-shaped digests answer 400 DIGEST_INVALID (blobs, referrers) and 404 MANIFEST_UNKNOWN (manifests)", async () => {
    const digests = ["sha256:..%2f..%2f..", "sha256%3a..", "..%2f..%2fblobs", `sha256:${"a".repeat(62)}%2f.`, "sha256:%2e%2e", `..%2f..%2f..%2ftmp%2f${marker}`];
    for (const d of digests) {
      expectError(await raw(berth, "GET", `/v2/${GOOD}/blobs/${d}`), 400, "DIGEST_INVALID");
      // a manifest reference that is neither a tag nor a digest names no manifest
      expectError(await raw(berth, "GET", `/v2/${GOOD}/manifests/${d}`), 404, "MANIFEST_UNKNOWN");
      expectError(await raw(berth, "GET", `/v2/${GOOD}/referrers/${d}`), 400, "DIGEST_INVALID");
      expectError(await raw(berth, "DELETE", `/v2/${GOOD}/blobs/${d}`), 400, "DIGEST_INVALID");
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
