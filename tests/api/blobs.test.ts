/**
 * Blob endpoints: GET/HEAD /v2/<name>/blobs/<digest> (end-2), ranges (RFC 9110), DELETE (end-10),
 * repository isolation.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { testWithServerLog } from "../helpers/server.ts";
import {
  absentDigest,
  blobExists,
  bytesEqual,
  call,
  expectAlive,
  expectError,
  expectStatus,
  pushBlob,
  randomBytes,
  sha256,
  show,
  utf8,
  type PushedBlob,
} from "../helpers/oci.ts";

let berth: InProcessBerth;

const test = testWithServerLog(() => [berth]);
const REPO = "blobs/main";
let blob: PushedBlob;

beforeAll(async () => {
  berth = await startInProcess();
  blob = await pushBlob(berth.url, REPO, randomBytes(1000));
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

describe("blobs", () => {
  test("GET blob returns the bytes with Content-Length, Docker-Content-Digest and ETag", async () => {
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`);
    expectStatus(res, 200);
    expect(bytesEqual(res.body, blob.bytes), "body differs from the pushed bytes").toBe(true);
    expect(res.headers.get("content-length"), show(res)).toBe("1000");
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(blob.digest);
    expect(res.headers.get("etag") ?? "", show(res)).toMatch(/^(W\/)?"[^"]+"$/);
  });

  test("HEAD blob answers 200 with Content-Length, Docker-Content-Digest, ETag and no body", async () => {
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`, { method: "HEAD" });
    expectStatus(res, 200);
    expect(res.body.byteLength).toBe(0);
    expect(res.headers.get("content-length"), show(res)).toBe("1000");
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(blob.digest);
    expect(res.headers.get("etag") ?? "", show(res)).toMatch(/^(W\/)?"[^"]+"$/);
  });

  test.each([
    ["a single Range", "bytes=10-19", 10, 20],
    ["an open-ended Range", "bytes=990-", 990, 1000],
    ["a suffix Range (the last 5 bytes)", "bytes=-5", 995, 1000],
    ["a Range ending past the blob (clamped)", "bytes=900-5000", 900, 1000],
  ])("GET with %s (%s) answers 206 with Content-Range, Content-Length and the slice", async (_kind, range, start, end) => {
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`, { headers: { Range: range } });
    expectStatus(res, 206);
    expect(res.headers.get("content-range"), show(res)).toBe(`bytes ${start}-${end - 1}/1000`);
    expect(res.headers.get("content-length"), show(res)).toBe(String(end - start));
    expect(bytesEqual(res.body, blob.bytes.subarray(start, end)), "range body differs").toBe(true);
  });

  test("GET with an unsatisfiable Range answers 416 with Content-Range: bytes */size", async () => {
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`, { headers: { Range: "bytes=1000-1010" } });
    expectStatus(res, 416);
    expect(res.headers.get("content-range"), show(res)).toBe("bytes */1000");
  });

  // RFC 9110: a Range that does not parse is ignored (200, the whole blob); one that parses but
  // cannot be satisfied answers 416. Several ranges at once are not supported: the whole blob.
  test.each([
    ["bytes=abc", 200],
    ["bytes=-", 200],
    ["bytes=5-2", 416],
    ["bytes=--5", 200],
    ["bytes=-5-10", 200],
    ["items=0-5", 200],
    ["bytes=99999999999999999999999-", 416],
    ["bytes=0-1,3-4", 200],
    ["", 200],
    ["bytes=", 200],
  ])("a negative or garbage Range %p answers %i", async (range, status) => {
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`, { headers: { Range: range } });
    if (status === 200) {
      expectStatus(res, 200);
      expect(bytesEqual(res.body, blob.bytes), `Range: ${range} full body differs`).toBe(true);
    } else {
      expectError(res, 416, "RANGE_INVALID");
      expect(res.headers.get("content-range"), show(res)).toBe("bytes */1000");
    }
    await expectAlive(berth);
  });

  test("unknown blob answers 404 BLOB_UNKNOWN on GET and 404 on HEAD", async () => {
    const digest = absentDigest();
    expectError(await call(berth.url, `/v2/${REPO}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    const head = await call(berth.url, `/v2/${REPO}/blobs/${digest}`, { method: "HEAD" });
    expectStatus(head, 404);
    expect(head.body.byteLength).toBe(0);
  });

  test("blob in a repository that does not exist answers 404 BLOB_UNKNOWN", async () => {
    expectError(await call(berth.url, `/v2/never/pushed/blobs/${blob.digest}`), 404, "BLOB_UNKNOWN");
  });

  test("bad digest syntax answers 400 DIGEST_INVALID", async () => {
    const bad = [
      "sha256:abc", // too short
      `sha256:${"g".repeat(64)}`, // not hex
      `sha256:${"a".repeat(65)}`, // too long
      `sha256:${"A".repeat(64)}`, // upper-case hex is not canonical (image-spec: [a-f0-9]{64})
    ];
    for (const digest of bad) {
      expectError(await call(berth.url, `/v2/${REPO}/blobs/${digest}`), 400, "DIGEST_INVALID");
      expectStatus(await call(berth.url, `/v2/${REPO}/blobs/${digest}`, { method: "HEAD" }), 400);
    }
  });

  test("a digest without an algorithm (blobs/not-a-digest) answers 400 DIGEST_INVALID", async () => {
    expectError(await call(berth.url, `/v2/${REPO}/blobs/not-a-digest`), 400, "DIGEST_INVALID");
  });

  test("an unsupported digest algorithm answers 400 DIGEST_INVALID", async () => {
    expectError(await call(berth.url, `/v2/${REPO}/blobs/md5:${"a".repeat(32)}`), 400, "DIGEST_INVALID");
  });

  test("DELETE blob answers 202, then GET answers 404 BLOB_UNKNOWN and HEAD 404", async () => {
    const repo = "blobs/delete";
    const b = await pushBlob(berth.url, repo, randomBytes(300));
    const del = await call(berth.url, `/v2/${repo}/blobs/${b.digest}`, { method: "DELETE" });
    expectStatus(del, 202);
    expectError(await call(berth.url, `/v2/${repo}/blobs/${b.digest}`), 404, "BLOB_UNKNOWN");
    expect(await blobExists(berth.url, repo, b.digest)).toBe(404);
  });

  test("a deleted blob can be uploaded again", async () => {
    const repo = "blobs/reupload";
    const bytes = randomBytes(222);
    const b = await pushBlob(berth.url, repo, bytes);
    expectStatus(await call(berth.url, `/v2/${repo}/blobs/${b.digest}`, { method: "DELETE" }), 202);
    expect(await blobExists(berth.url, repo, b.digest)).toBe(404);
    await pushBlob(berth.url, repo, bytes);
    const res = await call(berth.url, `/v2/${repo}/blobs/${b.digest}`);
    expectStatus(res, 200);
    expect(bytesEqual(res.body, bytes)).toBe(true);
  });

  test("DELETE blob removes it from that repository only", async () => {
    const bytes = randomBytes(400);
    const a = await pushBlob(berth.url, "blobs/shared-a", bytes);
    await pushBlob(berth.url, "blobs/shared-b", bytes);
    expectStatus(await call(berth.url, `/v2/blobs/shared-a/blobs/${a.digest}`, { method: "DELETE" }), 202);
    expect(await blobExists(berth.url, "blobs/shared-a", a.digest)).toBe(404);
    const other = await call(berth.url, `/v2/blobs/shared-b/blobs/${a.digest}`);
    expectStatus(other, 200);
    expect(bytesEqual(other.body, bytes)).toBe(true);
  });

  test("DELETE of an unknown blob answers 404 BLOB_UNKNOWN", async () => {
    expectError(await call(berth.url, `/v2/${REPO}/blobs/${absentDigest()}`, { method: "DELETE" }), 404, "BLOB_UNKNOWN");
  });

  test("DELETE with a bad digest answers 400 DIGEST_INVALID and deletes nothing", async () => {
    expectError(await call(berth.url, `/v2/${REPO}/blobs/sha256:xyz`, { method: "DELETE" }), 400, "DIGEST_INVALID");
    expect(await blobExists(berth.url, REPO, blob.digest)).toBe(200);
  });

  test("isolation: a blob pushed only to repo A answers 404 through repo B", async () => {
    const a = await pushBlob(berth.url, "blobs/iso-a", randomBytes(128));
    await pushBlob(berth.url, "blobs/iso-b", randomBytes(16)); // repo B exists
    expectError(await call(berth.url, `/v2/blobs/iso-b/blobs/${a.digest}`), 404, "BLOB_UNKNOWN");
    expect(await blobExists(berth.url, "blobs/iso-b", a.digest)).toBe(404);
    expect(await blobExists(berth.url, "blobs/iso-a", a.digest)).toBe(200);
  });

  test("an empty blob can be stored and fetched with Content-Length 0", async () => {
    const empty = new Uint8Array(0);
    const b = await pushBlob(berth.url, "blobs/empty", empty);
    expect(b.digest).toBe("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const res = await call(berth.url, `/v2/blobs/empty/blobs/${b.digest}`);
    expectStatus(res, 200);
    expect(res.body.byteLength).toBe(0);
    expect(res.headers.get("content-length"), show(res)).toBe("0");
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(b.digest);
  });

  test("unknown methods on a blob URL answer 405 UNSUPPORTED", async () => {
    for (const method of ["PUT", "POST", "PATCH"]) {
      const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`, { method, body: utf8("x") });
      expectError(res, 405, "UNSUPPORTED");
    }
    const weird = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`, { method: "PROPFIND" });
    expectError(weird, 405, "UNSUPPORTED");
    // a PUT to the blob URL must not have replaced or created anything
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`);
    expect(bytesEqual(res.body, blob.bytes)).toBe(true);
    expect(await blobExists(berth.url, REPO, sha256("x"))).toBe(404);
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    const res = await call(berth.url, `/v2/${REPO}/blobs/${blob.digest}`);
    expectStatus(res, 200);
    expect(bytesEqual(res.body, blob.bytes)).toBe(true);
  });
});
