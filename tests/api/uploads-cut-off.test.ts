/**
 * Upload bodies cut off by the client (a dropped connection): a monolithic POST leaves no
 * session behind, a chunk with Content-Range leaves the offset where it was so the same chunk
 * can be resent, and a streamed chunk without Content-Range keeps what arrived.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  bytesEqual,
  call,
  concat,
  expectStatus,
  localUrl,
  patchChunk,
  randomBytes,
  sha256,
  show,
  startUpload,
  utf8,
  waitFor,
  withQuery,
  type Bytes,
} from "../helpers/oci.ts";
import { startBerth, testWithServerLog, type BerthProcess } from "../helpers/server.ts";

let berth: BerthProcess;
const test = testWithServerLog(() => [berth]);

beforeAll(async () => {
  berth = await startBerth();
});

afterAll(async () => {
  await berth?.stop();
});

/**
 * Sends a request head announcing `announced` body bytes, then only `body`, then drops the
 * connection; resolves once Berth has logged the request (it finished handling it).
 */
async function sendCutOff(method: string, path: string, headers: Record<string, string>, body: Bytes, announced: number): Promise<void> {
  // the access log names the path without the query
  const logLine = `method=${method} path=${path.split("?")[0]} `;
  const count = () => berth.output().split("\n").filter((line) => line.includes(logLine)).length;
  const before = count();
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${berth.host}`, `Content-Length: ${announced}`];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: berth.port });
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on("connect", () => {
      // the body's bytes go out before the connection is dropped
      socket.write(concat(utf8(`${head.join("\r\n")}\r\n\r\n`), body), () => setTimeout(() => socket.destroy(), 100));
    });
  });
  const handled = await waitFor(async () => count() > before, 5_000, 25);
  expect(handled, `Berth should log the cut-off ${method} ${path}`).toBe(true);
}

function uploadsDir(repo: string): string {
  return join(berth.root, "docker/registry/v2/repositories", repo, "_uploads");
}

function sessions(repo: string): string[] {
  return existsSync(uploadsDir(repo)) ? readdirSync(uploadsDir(repo)) : [];
}

async function offsetOf(url: URL): Promise<string | null> {
  const res = await call(berth.url, url.toString());
  expectStatus(res, 204);
  return res.headers.get("range");
}

describe("upload bodies cut off by the client", () => {
  test("a monolithic POST ?digest= whose body is cut off leaves no upload session", async () => {
    const repo = "cutoff/monolithic";
    const bytes = randomBytes(256 * 1024);
    await sendCutOff(
      "POST",
      `/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`,
      { "Content-Type": "application/octet-stream" },
      bytes.subarray(0, 100 * 1024),
      bytes.byteLength,
    );
    expect(sessions(repo)).toEqual([]);
    expectStatus(await call(berth.url, `/v2/${repo}/blobs/${sha256(bytes)}`, { method: "HEAD" }), 404);
    // the same blob in one request afterwards works
    const done = await call(berth.url, `/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, { method: "POST", body: bytes });
    expectStatus(done, 201);
    expect(sessions(repo)).toEqual([]);
  });

  test("a PATCH with Content-Range whose body is cut off leaves the offset unchanged, and the chunk can be resent", async () => {
    const repo = "cutoff/ranged";
    const first = randomBytes(1000);
    const second = randomBytes(64 * 1024);
    const { url } = await startUpload(berth.url, repo);
    const r1 = await patchChunk(url, first, "0-999");
    expectStatus(r1, 202);
    const session = localUrl(berth.url, r1.headers.get("location"));
    const range = `1000-${1000 + second.byteLength - 1}`;
    await sendCutOff(
      "PATCH",
      session.pathname,
      { "Content-Range": range, "Content-Type": "application/octet-stream" },
      second.subarray(0, 20_000),
      second.byteLength,
    );
    expect(await offsetOf(session)).toBe("0-999");
    const resent = await patchChunk(session, second, range);
    expectStatus(resent, 202);
    const all = concat(first, second);
    const done = await call(berth.url, withQuery(localUrl(berth.url, resent.headers.get("location")), { digest: sha256(all) }).toString(), {
      method: "PUT",
    });
    expectStatus(done, 201);
    const got = await call(berth.url, `/v2/${repo}/blobs/${sha256(all)}`);
    expect(bytesEqual(got.body, all), "the blob differs from the bytes sent").toBe(true);
  });

  test("a streamed PATCH without Content-Range whose body is cut off keeps the bytes that arrived", async () => {
    const repo = "cutoff/streamed";
    const first = randomBytes(1000);
    const rest = randomBytes(64 * 1024);
    const arrived = 20_000;
    const { url } = await startUpload(berth.url, repo);
    const r1 = await patchChunk(url, first);
    expectStatus(r1, 202);
    const session = localUrl(berth.url, r1.headers.get("location"));
    await sendCutOff("PATCH", session.pathname, { "Content-Type": "application/octet-stream" }, rest.subarray(0, arrived), rest.byteLength);
    expect(await offsetOf(session)).toBe(`0-${1000 + arrived - 1}`);
    // the client resumes from the offset it reads back
    const resumed = await patchChunk(session, rest.subarray(arrived), `${1000 + arrived}-${1000 + rest.byteLength - 1}`);
    expectStatus(resumed, 202);
    const all = concat(first, rest);
    const done = await call(berth.url, withQuery(localUrl(berth.url, resumed.headers.get("location")), { digest: sha256(all) }).toString(), {
      method: "PUT",
    });
    expectStatus(done, 201);
    const got = await call(berth.url, `/v2/${repo}/blobs/${sha256(all)}`);
    expect(bytesEqual(got.body, all), show(got)).toBe(true);
    expect(berth.output(), "a client that went away is no server error").not.toContain(" ERROR ");
  });
});
