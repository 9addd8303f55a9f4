/**
 * Blob uploads: POST (end-4a/4b), mount (end-11), PATCH (end-5), PUT (end-6), GET status (end-13),
 * DELETE; sha512; restarts; purging of stale sessions.
 */
import { afterAll, afterEach, beforeAll, describe, expect } from "bun:test";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { removeDir, startBerth, tempDir, testWithServerLog, type BerthProcess } from "../helpers/server.ts";
import {
  absentDigest,
  blobExists,
  bytesEqual,
  call,
  concat,
  expectAlive,
  expectError,
  expectStatus,
  listTree,
  localUrl,
  patchChunk,
  pushBlob,
  randomBytes,
  raw,
  sha256,
  sha512,
  show,
  startUpload,
  waitFor,
  withQuery,
  type Bytes,
  type CallInit,
  type PushedBlob,
  type Resp,
} from "../helpers/oci.ts";

let berth: InProcessBerth;

const test = testWithServerLog(() => [berth]);
let base: string;
let kept: PushedBlob;

beforeAll(async () => {
  berth = await startInProcess();
  base = berth.url;
  kept = await pushBlob(base, "uploads/kept", randomBytes(2048));
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

async function status(url: URL): Promise<Resp> {
  return call(base, url.toString());
}

async function put(url: URL, digest: string, body?: Bytes, headers: Record<string, string> = {}): Promise<Resp> {
  const init: CallInit = { method: "PUT", headers: { "Content-Type": "application/octet-stream", ...headers } };
  if (body !== undefined) init.body = body;
  return call(base, withQuery(url, { digest }).toString(), init);
}

function expectRangeHeader(res: Resp, end: number): void {
  expect(res.headers.get("range"), show(res)).toBe(`0-${end}`);
}

async function expectBlob(repo: string, bytes: Uint8Array, digest: string = sha256(bytes)): Promise<void> {
  const res = await call(base, `/v2/${repo}/blobs/${digest}`);
  expectStatus(res, 200);
  expect(bytesEqual(res.body, bytes), `blob ${digest} in ${repo} differs from the uploaded bytes`).toBe(true);
}

describe("upload sessions", () => {
  test("POST starts an upload: 202 with Location, Docker-Upload-UUID and Range", async () => {
    const res = await call(base, "/v2/uploads/start/blobs/uploads/", { method: "POST" });
    expectStatus(res, 202);
    const location = res.headers.get("location");
    const uuid = res.headers.get("docker-upload-uuid");
    expect(location, show(res)).not.toBeNull();
    expect(uuid, show(res)).toMatch(/^[A-Za-z0-9_.=-]+$/);
    expect(location ?? "", "Location must contain the session id").toContain(uuid ?? "<none>");
    expect(localUrl(base, location).pathname, show(res)).toStartWith("/v2/uploads/start/blobs/uploads/");
    expect(res.headers.get("range"), show(res)).toBe("0-0");
  });

  test("monolithic POST ?digest= with a body answers 201 with the blob Location and Docker-Content-Digest", async () => {
    const bytes = randomBytes(777);
    const digest = sha256(bytes);
    const res = await call(base, `/v2/uploads/mono/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
    const location = localUrl(base, res.headers.get("location"));
    expect(location.pathname, show(res)).toEndWith(`/v2/uploads/mono/blobs/${digest}`);
    const got = await call(base, location.toString());
    expectStatus(got, 200);
    expect(bytesEqual(got.body, bytes)).toBe(true);
  });

  test("monolithic POST with a digest not matching the body answers 400 DIGEST_INVALID and stores nothing", async () => {
    const bytes = randomBytes(100);
    const claimed = absentDigest();
    const res = await call(base, `/v2/uploads/mono-bad/blobs/uploads/?digest=${claimed}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    expectError(res, 400, "DIGEST_INVALID");
    expect(await blobExists(base, "uploads/mono-bad", claimed)).toBe(404);
    expect(await blobExists(base, "uploads/mono-bad", sha256(bytes))).toBe(404);
  });

  test("POST ?mount=&from= answers 201 with Location and Docker-Content-Digest when the source repo has the blob", async () => {
    const src = await pushBlob(base, "uploads/mount-src", randomBytes(555));
    const res = await call(base, `/v2/uploads/mount-dst/blobs/uploads/?mount=${src.digest}&from=uploads/mount-src`, { method: "POST" });
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(src.digest);
    expect(localUrl(base, res.headers.get("location")).pathname, show(res)).toEndWith(`/v2/uploads/mount-dst/blobs/${src.digest}`);
    await expectBlob("uploads/mount-dst", src.bytes);
  });

  test("POST ?mount= of a blob the source repo does not hold answers 202 and a normal upload session", async () => {
    // the blob exists in the registry, but only in a third repository
    const elsewhere = await pushBlob(base, "uploads/mount-third", randomBytes(321));
    await pushBlob(base, "uploads/mount-nosrc", randomBytes(10)); // the source repo exists
    const res = await call(base, `/v2/uploads/mount-dst2/blobs/uploads/?mount=${elsewhere.digest}&from=uploads/mount-nosrc`, {
      method: "POST",
    });
    expectStatus(res, 202);
    expect(res.headers.get("docker-upload-uuid"), show(res)).not.toBeNull();
    expect(await blobExists(base, "uploads/mount-dst2", elsewhere.digest)).toBe(404);
    // the session is usable
    const done = await put(localUrl(base, res.headers.get("location")), elsewhere.digest, elsewhere.bytes);
    expectStatus(done, 201);
    await expectBlob("uploads/mount-dst2", elsewhere.bytes);
  });

  test("POST ?mount= from a repository that does not exist answers 202", async () => {
    const res = await call(base, `/v2/uploads/mount-dst3/blobs/uploads/?mount=${kept.digest}&from=uploads/no-such-repo`, { method: "POST" });
    expectStatus(res, 202);
    expect(res.headers.get("location"), show(res)).not.toBeNull();
    expect(await blobExists(base, "uploads/mount-dst3", kept.digest)).toBe(404);
  });

  test("PATCH with Content-Range appends a chunk: 202 with Location, Range and Docker-Upload-UUID", async () => {
    const { url, res: post } = await startUpload(base, "uploads/chunked");
    const chunk = randomBytes(10);
    const res = await patchChunk(url, chunk, "0-9");
    expectStatus(res, 202);
    expectRangeHeader(res, 9);
    expect(res.headers.get("location"), show(res)).not.toBeNull();
    expect(res.headers.get("docker-upload-uuid"), show(res)).toBe(post.headers.get("docker-upload-uuid"));
    const next = localUrl(base, res.headers.get("location"));
    const second = randomBytes(6);
    const res2 = await patchChunk(next, second, "10-15");
    expectStatus(res2, 202);
    expectRangeHeader(res2, 15);
    const all = concat(chunk, second);
    expectStatus(await put(localUrl(base, res2.headers.get("location")), sha256(all)), 201);
    await expectBlob("uploads/chunked", all);
  });

  test("streamed PATCH without Content-Range appends the body", async () => {
    const { url } = await startUpload(base, "uploads/streamed");
    const a = randomBytes(1500);
    const b = randomBytes(2500);
    const r1 = await patchChunk(url, a);
    expectStatus(r1, 202);
    expectRangeHeader(r1, 1499);
    // the second chunk is sent with chunked transfer encoding (no Content-Length)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(b.subarray(0, 1000));
        controller.enqueue(b.subarray(1000));
        controller.close();
      },
    });
    const u2 = localUrl(base, r1.headers.get("location"));
    const r2 = await call(base, u2.toString(), { method: "PATCH", headers: { "Content-Type": "application/octet-stream" }, body: stream });
    expectStatus(r2, 202);
    expectRangeHeader(r2, 3999);
    const all = concat(a, b);
    expectStatus(await put(localUrl(base, r2.headers.get("location")), sha256(all)), 201);
    await expectBlob("uploads/streamed", all);
  });

  test("a chunk whose Content-Range does not start at the current offset answers 416 RANGE_INVALID and the upload is unchanged", async () => {
    const { url } = await startUpload(base, "uploads/out-of-order");
    const first = randomBytes(10);
    const r1 = await patchChunk(url, first, "0-9");
    expectStatus(r1, 202);
    const loc = localUrl(base, r1.headers.get("location"));
    for (const range of ["20-29", "5-14", "0-9", "11-20"]) {
      const bad = await patchChunk(loc, randomBytes(10), range);
      expectError(bad, 416, "RANGE_INVALID");
      const st = await status(loc);
      expectStatus(st, 204);
      expectRangeHeader(st, 9);
    }
    const second = randomBytes(10);
    const r2 = await patchChunk(loc, second, "10-19");
    expectStatus(r2, 202);
    expectRangeHeader(r2, 19);
    const all = concat(first, second);
    expectStatus(await put(localUrl(base, r2.headers.get("location")), sha256(all)), 201);
    await expectBlob("uploads/out-of-order", all);
  });

  test("a first chunk whose Content-Range does not start at 0 answers 416 RANGE_INVALID", async () => {
    const { url } = await startUpload(base, "uploads/first-chunk");
    expectError(await patchChunk(url, randomBytes(5), "1-5"), 416, "RANGE_INVALID");
    const st = await status(url);
    expectStatus(st, 204);
    expect(st.headers.get("range"), show(st)).toBe("0-0");
  });

  test("PUT ?digest= with the whole blob as body after POST answers 201 with Location and Docker-Content-Digest", async () => {
    const { url } = await startUpload(base, "uploads/post-put");
    const bytes = randomBytes(4096);
    const res = await put(url, sha256(bytes), bytes);
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(sha256(bytes));
    expect(localUrl(base, res.headers.get("location")).pathname, show(res)).toEndWith(`/v2/uploads/post-put/blobs/${sha256(bytes)}`);
    await expectBlob("uploads/post-put", bytes);
  });

  test.each([
    ["with a final chunk and its Content-Range", 50, "100-149"],
    ["with a final chunk without Content-Range", 70, undefined],
    ["without a final chunk", 0, undefined],
  ])("PUT ?digest= %s after a PATCH answers 201 with Location and Docker-Content-Digest", async (_kind, finalSize, finalRange) => {
    const repo = "uploads/final-chunk";
    const { url } = await startUpload(base, repo);
    const a = randomBytes(100);
    const r1 = await patchChunk(url, a, "0-99");
    expectStatus(r1, 202);
    const b = randomBytes(finalSize);
    const all = concat(a, b);
    const res = await put(localUrl(base, r1.headers.get("location")), sha256(all), finalSize > 0 ? b : undefined, finalRange ? { "Content-Range": finalRange } : {});
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(sha256(all));
    expect(localUrl(base, res.headers.get("location")).pathname, show(res)).toEndWith(`/v2/${repo}/blobs/${sha256(all)}`);
    await expectBlob(repo, all);
  });

  test("a final chunk whose Content-Range does not start at the offset answers 416 RANGE_INVALID and stores nothing", async () => {
    const { url } = await startUpload(base, "uploads/final-bad-range");
    const a = randomBytes(10);
    const r1 = await patchChunk(url, a, "0-9");
    expectStatus(r1, 202);
    const loc = localUrl(base, r1.headers.get("location"));
    const b = randomBytes(10);
    const all = concat(a, b);
    expectError(await put(loc, sha256(all), b, { "Content-Range": "15-24" }), 416, "RANGE_INVALID");
    expect(await blobExists(base, "uploads/final-bad-range", sha256(all))).toBe(404);
    const st = await status(loc);
    expectStatus(st, 204);
    expectRangeHeader(st, 9);
  });

  test("GET upload status answers 204 with Range, Location and Docker-Upload-UUID", async () => {
    const { url, res: post } = await startUpload(base, "uploads/status");
    const r1 = await patchChunk(url, randomBytes(10), "0-9");
    expectStatus(r1, 202);
    const st = await status(localUrl(base, r1.headers.get("location")));
    expectStatus(st, 204);
    expect(st.body.byteLength).toBe(0);
    expectRangeHeader(st, 9);
    expect(st.headers.get("docker-upload-uuid"), show(st)).toBe(post.headers.get("docker-upload-uuid"));
    expect(localUrl(base, st.headers.get("location")).pathname, show(st)).toBe(url.pathname);
  });

  test("DELETE upload answers 204, then the session answers 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const { url } = await startUpload(base, "uploads/cancel");
    const bytes = randomBytes(10);
    const r1 = await patchChunk(url, bytes, "0-9");
    expectStatus(r1, 202);
    const loc = localUrl(base, r1.headers.get("location"));
    expectStatus(await call(base, loc.toString(), { method: "DELETE" }), 204);
    expectError(await status(loc), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await patchChunk(loc, randomBytes(5), "10-14"), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await put(loc, sha256(bytes)), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await call(base, loc.toString(), { method: "DELETE" }), 404, "BLOB_UPLOAD_UNKNOWN");
    expect(await blobExists(base, "uploads/cancel", sha256(bytes))).toBe(404);
  });

  test("an unknown upload id answers 404 BLOB_UPLOAD_UNKNOWN on GET, PATCH, PUT and DELETE", async () => {
    await pushBlob(base, "uploads/unknown", randomBytes(10)); // the repository exists
    const url = new URL("/v2/uploads/unknown/blobs/uploads/2f7f5c2e-0000-4000-8000-000000000000", base);
    const bytes = randomBytes(10);
    expectError(await status(url), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await patchChunk(url, bytes, "0-9"), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await put(url, sha256(bytes), bytes), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await call(base, url.toString(), { method: "DELETE" }), 404, "BLOB_UPLOAD_UNKNOWN");
    expect(await blobExists(base, "uploads/unknown", sha256(bytes))).toBe(404);
  });

  test("an upload id that is not a known id answers 404 BLOB_UPLOAD_UNKNOWN", async () => {
    for (const id of ["not-a-uuid", "x".repeat(300), "..%2f..%2fblobs"]) {
      expectError(await call(base, `/v2/uploads/unknown/blobs/uploads/${id}`), 404, "BLOB_UPLOAD_UNKNOWN");
    }
  });

  test("an upload session of repo A is not reachable through repo B", async () => {
    const { url } = await startUpload(base, "uploads/session-a");
    await pushBlob(base, "uploads/session-b", randomBytes(8));
    const other = new URL(url.toString().replace("/v2/uploads/session-a/", "/v2/uploads/session-b/"));
    expectError(await status(other), 404, "BLOB_UPLOAD_UNKNOWN");
    const bytes = randomBytes(20);
    expectError(await put(other, sha256(bytes), bytes), 404, "BLOB_UPLOAD_UNKNOWN");
    expect(await blobExists(base, "uploads/session-b", sha256(bytes))).toBe(404);
    expectStatus(await status(url), 204);
  });

  test("PUT with a digest not matching the bytes answers 400 DIGEST_INVALID and the blob is not stored", async () => {
    const { url } = await startUpload(base, "uploads/bad-digest");
    const bytes = randomBytes(500);
    const claimed = absentDigest();
    expectError(await put(url, claimed, bytes), 400, "DIGEST_INVALID");
    expect(await blobExists(base, "uploads/bad-digest", claimed)).toBe(404);
    expect(await blobExists(base, "uploads/bad-digest", sha256(bytes))).toBe(404);
  });

  test("PUT after chunks with a digest not matching the bytes answers 400 DIGEST_INVALID and stores nothing", async () => {
    const { url } = await startUpload(base, "uploads/bad-digest-chunks");
    const bytes = randomBytes(64);
    const r1 = await patchChunk(url, bytes, "0-63");
    expectStatus(r1, 202);
    const claimed = sha256(randomBytes(64));
    expectError(await put(localUrl(base, r1.headers.get("location")), claimed), 400, "DIGEST_INVALID");
    expect(await blobExists(base, "uploads/bad-digest-chunks", claimed)).toBe(404);
    expect(await blobExists(base, "uploads/bad-digest-chunks", sha256(bytes))).toBe(404);
  });

  test("PUT without ?digest= answers 400 DIGEST_INVALID and stores nothing", async () => {
    const { url } = await startUpload(base, "uploads/no-digest");
    const bytes = randomBytes(40);
    const res = await call(base, url.toString(), { method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body: bytes });
    expectError(res, 400, "DIGEST_INVALID");
    expect(await blobExists(base, "uploads/no-digest", sha256(bytes))).toBe(404);
  });

  test("PUT with a malformed digest answers 400 DIGEST_INVALID", async () => {
    const { url } = await startUpload(base, "uploads/malformed-digest");
    const bytes = randomBytes(40);
    for (const digest of ["sha256:abc", "nothing", `sha256:${"z".repeat(64)}`]) {
      expectError(await put(url, digest, bytes), 400, "DIGEST_INVALID");
    }
    expect(await blobExists(base, "uploads/malformed-digest", sha256(bytes))).toBe(404);
  });

  test("a completed upload session is closed: GET answers 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const { url } = await startUpload(base, "uploads/closed");
    const bytes = randomBytes(33);
    expectStatus(await put(url, sha256(bytes), bytes), 201);
    expectError(await status(url), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  test("a 3 MiB blob uploaded in three chunks round-trips byte for byte", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const { url } = await startUpload(base, "uploads/large");
    let loc = url;
    const size = 1024 * 1024;
    for (let offset = 0; offset < bytes.byteLength && offset < 10 * size; offset += size) {
      const chunk = bytes.subarray(offset, Math.min(offset + size, bytes.byteLength));
      const res = await patchChunk(loc, new Uint8Array(chunk), `${offset}-${offset + chunk.byteLength - 1}`);
      expectStatus(res, 202);
      expectRangeHeader(res, offset + chunk.byteLength - 1);
      loc = localUrl(base, res.headers.get("location"));
    }
    expectStatus(await put(loc, sha256(bytes)), 201);
    const head = await call(base, `/v2/uploads/large/blobs/${sha256(bytes)}`, { method: "HEAD" });
    expect(head.headers.get("content-length"), show(head)).toBe(String(bytes.byteLength));
    await expectBlob("uploads/large", bytes);
  });

  test("two concurrent uploads of the same blob both complete with 201", async () => {
    const bytes = randomBytes(200_000);
    const digest = sha256(bytes);
    const [a, b] = await Promise.all([startUpload(base, "uploads/race"), startUpload(base, "uploads/race")]);
    const [ra, rb] = await Promise.all([put(a.url, digest, bytes), put(b.url, digest, bytes)]);
    expectStatus(ra, 201);
    expectStatus(rb, 201);
    await expectBlob("uploads/race", bytes);
  });

  test("unknown methods on upload URLs answer 405 UNSUPPORTED with the JSON error envelope", async () => {
    const { url } = await startUpload(base, "uploads/methods");
    expectError(await call(base, url.toString(), { method: "POST" }), 405, "UNSUPPORTED");
    expectError(await call(base, "/v2/uploads/methods/blobs/uploads/", { method: "PUT", body: randomBytes(3) }), 405, "UNSUPPORTED");
    expectError(await call(base, "/v2/uploads/methods/blobs/uploads/", { method: "PATCH", body: randomBytes(3) }), 405, "UNSUPPORTED");
    expectError(await call(base, "/v2/uploads/methods/blobs/uploads/", { method: "DELETE" }), 405, "UNSUPPORTED");
    // the session is still usable
    const st = await status(url);
    expectStatus(st, 204);
    await expectAlive(berth);
  });
});

describe("upload robustness", () => {
  // A Content-Range that does not parse, or does not start at the session's offset, is a range
  // Berth cannot take (416); one that parses but disagrees with the body's length is a bad upload.
  test.each([
    ["10-99999999999999999999999999", 416, "RANGE_INVALID"],
    ["99999999999999999999-99999999999999999999", 416, "RANGE_INVALID"],
    ["9007199254740993-9007199254741002", 416, "RANGE_INVALID"],
    ["10-9007199254740993", 416, "RANGE_INVALID"],
    ["abc", 416, "RANGE_INVALID"],
    ["-5-3", 416, "RANGE_INVALID"],
    ["19-10", 416, "RANGE_INVALID"],
    ["10-", 416, "RANGE_INVALID"],
    ["-10", 416, "RANGE_INVALID"],
    ["10-19-20", 416, "RANGE_INVALID"],
    ["ten-twenty", 416, "RANGE_INVALID"],
    ["10 19", 416, "RANGE_INVALID"],
    ["10-99", 400, "BLOB_UPLOAD_INVALID"], // ten bytes sent
  ])("a chunk with Content-Range %p answers %i %s and the upload is unchanged", async (range, answer, code) => {
    const { url } = await startUpload(base, "uploads/bad-range");
    const r1 = await patchChunk(url, randomBytes(10), "0-9");
    expectStatus(r1, 202);
    const loc = localUrl(base, r1.headers.get("location"));
    expectError(await patchChunk(loc, randomBytes(10), range), answer, code);
    const st = await status(loc);
    expectStatus(st, 204);
    expectRangeHeader(st, 9);
    await expectAlive(berth);
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    await expectBlob("uploads/kept", kept.bytes);
  });
});

describe("sha512 blobs", () => {
  test("monolithic POST ?digest=sha512:... answers 201 and GET by that digest returns the bytes", async () => {
    const bytes = randomBytes(999);
    const digest = sha512(bytes);
    const res = await call(base, `/v2/uploads/sha512/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
    const got = await call(base, `/v2/uploads/sha512/blobs/${digest}`);
    expectStatus(got, 200);
    expect(bytesEqual(got.body, bytes)).toBe(true);
    expect(got.headers.get("docker-content-digest"), show(got)).toBe(digest);
    expect(got.headers.get("content-length"), show(got)).toBe("999");
  });

  test("chunked upload closed with PUT ?digest=sha512:... answers 201 and HEAD finds it", async () => {
    const a = randomBytes(100);
    const b = randomBytes(100);
    const all = concat(a, b);
    const digest = sha512(all);
    const { url } = await startUpload(base, "uploads/sha512-chunked");
    const r1 = await patchChunk(url, a, "0-99");
    expectStatus(r1, 202);
    const res = await put(localUrl(base, r1.headers.get("location")), digest, b, { "Content-Range": "100-199" });
    expectStatus(res, 201);
    expect(res.headers.get("docker-content-digest"), show(res)).toBe(digest);
    const head = await call(base, `/v2/uploads/sha512-chunked/blobs/${digest}`, { method: "HEAD" });
    expectStatus(head, 200);
    expect(head.headers.get("content-length"), show(head)).toBe("200");
    expect(head.headers.get("docker-content-digest"), show(head)).toBe(digest);
  });

  test("a sha512 digest that does not match the bytes answers 400 DIGEST_INVALID and stores nothing", async () => {
    const bytes = randomBytes(50);
    const claimed = sha512(randomBytes(50));
    const { url } = await startUpload(base, "uploads/sha512-bad");
    expectError(await put(url, claimed, bytes), 400, "DIGEST_INVALID");
    expect(await blobExists(base, "uploads/sha512-bad", claimed)).toBe(404);
    expect(await blobExists(base, "uploads/sha512-bad", sha512(bytes))).toBe(404);
  });

  test("a sha512 digest of the wrong length answers 400 DIGEST_INVALID", async () => {
    expectError(await call(base, `/v2/uploads/sha512/blobs/sha512:${"a".repeat(64)}`), 400, "DIGEST_INVALID");
  });
});

describe("un-normalised upload paths, on the wire", () => {
  // fetch and Request resolve ".." before sending: these need raw bytes to a real process
  let wire: BerthProcess;
  let wireKept: PushedBlob;
  beforeAll(async () => {
    wire = await startBerth();
    wireKept = await pushBlob(wire.url, "uploads/kept", randomBytes(64));
  }, 60_000);
  afterAll(async () => {
    await wire?.stop();
  });

  // A path with a ".." segment (sent raw, so no client resolves it) is no registry endpoint; an
  // encoded slash keeps the id one segment, which names no session.
  test.each([
    ["..", "NOT_FOUND"],
    ["%2e%2e", "NOT_FOUND"],
    ["../../../x", "NOT_FOUND"],
    ["%2e%2e%2f%2e%2e%2fblobs", "BLOB_UPLOAD_UNKNOWN"],
  ])("an upload id of %p (raw, un-normalised path) answers 404 %s on every method and touches nothing", async (id, code) => {
    for (const method of ["GET", "PATCH", "PUT", "DELETE"]) {
      const res = await raw(wire, method, `/v2/uploads/kept/blobs/uploads/${id}?digest=${wireKept.digest}`, method === "GET" || method === "DELETE" ? {} : { body: randomBytes(4) });
      expectError(res, 404, code);
    }
    const stored = await call(wire.url, `/v2/uploads/kept/blobs/${wireKept.digest}`);
    expect(bytesEqual(stored.body, wireKept.bytes), show(stored)).toBe(true);
    await expectAlive(wire);
  });
});

describe("upload persistence", () => {
  const running: BerthProcess[] = [];
  const roots: string[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
    for (const root of roots.splice(0)) removeDir(root);
  });

  /** Sends `part1` as the first chunk of an upload to `repo`, ends Berth with `end`, starts it again on the same root. */
  async function chunkAcrossRestart(repo: string, part1: Bytes, end: "stop" | "kill9"): Promise<{ second: BerthProcess; session: string }> {
    const root = tempDir();
    roots.push(root);
    const first = await startBerth({ root });
    running.push(first);
    const { url } = await startUpload(first.url, repo);
    const r1 = await patchChunk(url, part1, `0-${part1.byteLength - 1}`);
    expectStatus(r1, 202);
    const loc = localUrl(first.url, r1.headers.get("location"));
    await first[end]();
    const second = await startBerth({ root });
    running.push(second);
    const session = `${loc.pathname}${loc.search}`;
    const st = await call(second.url, session);
    expectStatus(st, 204);
    expectRangeHeader(st, part1.byteLength - 1);
    return { second, session };
  }

  test("upload sessions survive a restart of the process", async () => {
    const part1 = randomBytes(5000);
    const part2 = randomBytes(3000);
    const { second, session } = await chunkAcrossRestart("uploads/restart", part1, "stop");
    const r2 = await patchChunk(new URL(session, second.url), part2, "5000-7999");
    expectStatus(r2, 202);
    expectRangeHeader(r2, 7999);
    const all = concat(part1, part2);
    const done = await call(second.url, withQuery(localUrl(second.url, r2.headers.get("location")), { digest: sha256(all) }).toString(), {
      method: "PUT",
    });
    expectStatus(done, 201);
    const got = await call(second.url, `/v2/uploads/restart/blobs/${sha256(all)}`);
    expectStatus(got, 200);
    expect(bytesEqual(got.body, all), "blob after restart differs").toBe(true);
  });

  test("an acknowledged chunk survives a SIGKILL of the process", async () => {
    const part1 = randomBytes(4000);
    const part2 = randomBytes(1000);
    const { second, session } = await chunkAcrossRestart("uploads/kill9", part1, "kill9");
    const all = concat(part1, part2);
    const done = await call(second.url, withQuery(new URL(session, second.url), { digest: sha256(all) }).toString(), {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", "Content-Range": "4000-4999" },
      body: part2,
    });
    expectStatus(done, 201);
    const got = await call(second.url, `/v2/uploads/kill9/blobs/${sha256(all)}`);
    expect(bytesEqual(got.body, all), "blob after SIGKILL differs").toBe(true);
  });

  test("stale uploads are purged after the configured age", async () => {
    const purging = await startBerth({
      env: { BERTH_STORAGE_UPLOADS_PURGE_AFTER: "2s", BERTH_STORAGE_UPLOADS_PURGE_INTERVAL: "1s" },
    });
    try {
      const { url, res: post } = await startUpload(purging.url, "uploads/purge");
      const uuid = post.headers.get("docker-upload-uuid") ?? "";
      expect(uuid, show(post)).not.toBe("");
      expectStatus(await patchChunk(url, randomBytes(100), "0-99"), 202);
      expectStatus(await call(purging.url, url.toString()), 204);
      expect(listTree(purging.root).some((p) => p.includes(uuid)), "the session should be on disk before the purge").toBe(true);

      const purged = await waitFor(async () => (await call(purging.url, url.toString())).status === 404, 20_000, 250);
      expect(purged, `upload ${uuid} still answers after 20 s with a 2 s purge age`).toBe(true);
      expectError(await call(purging.url, url.toString()), 404, "BLOB_UPLOAD_UNKNOWN");
      const onDisk = await waitFor(async () => !listTree(purging.root).some((p) => p.includes(uuid)), 5_000, 250);
      expect(onDisk, "the purged session's files should be removed").toBe(true);

      // a fresh upload is not purged straight away and completes
      const fresh = await startUpload(purging.url, "uploads/purge");
      const bytes = randomBytes(10);
      expectStatus(await call(purging.url, fresh.url.toString()), 204);
      const done = await call(purging.url, withQuery(fresh.url, { digest: sha256(bytes) }).toString(), { method: "PUT", body: bytes });
      expectStatus(done, 201);
      await expectAlive(purging);
    } finally {
      await purging.stop();
    }
  });
});
