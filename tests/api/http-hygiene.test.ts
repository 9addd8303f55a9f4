/**
 * HTTP hygiene on a real process, down to the bytes on the socket: requests Bun cannot turn
 * into a URL get a 400 JSON envelope (never Bun's error page with paths and source), every
 * answer has one Date header (HEAD too), the access log has the real body size and no empty
 * fields, and the log line of a 500 carries the request id.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type BerthProcess, repoRoot, startBerth, testWithServerLog, waitForOutput } from "../helpers/server.ts";
import { call, exchange, expectAlive, pushImage, type PushedImage } from "../helpers/oci.ts";

let berth: BerthProcess;
let image: PushedImage;
const test = testWithServerLog(() => [berth]);

beforeAll(async () => {
  berth = await startBerth();
  image = await pushImage(berth.url, "hygiene/app", { tag: "v1" });
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

interface RawReply {
  status: number;
  /** header lines as sent, names in their original case */
  lines: string[];
  headers: Headers;
  body: string;
  /** the whole answer, for "nothing leaks" checks */
  all: string;
}

/** Writes `request` as it is on a fresh connection and reads until the server closes it (bounded). */
async function rawExchange(request: string, timeoutMs = 10_000): Promise<RawReply> {
  const data = await exchange(berth.port, request, timeoutMs);
  const all = data.toString("latin1");
  const sep = all.indexOf("\r\n\r\n");
  if (sep < 0) throw new Error(`malformed answer: ${JSON.stringify(all.slice(0, 300))}`);
  const [statusLine = "", ...lines] = all.slice(0, sep).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), lines, headers, body: all.slice(sep + 4), all };
}

const request = (head: string) => `${head}\r\nConnection: close\r\n\r\n`;

/** The access-log line of the request with this id (log lines arrive through a pipe). */
async function logLine(id: string | null): Promise<string> {
  expect(id).not.toBeNull();
  const output = await waitForOutput(berth, new RegExp(`request id=${id} .*\\n`));
  return output.split("\n").find((line) => line.includes(`request id=${id} `)) ?? "";
}

function loggedBytes(line: string): number {
  const match = / bytes=(\d+)/.exec(line);
  expect(match, line).not.toBeNull();
  return Number(match?.[1]);
}

describe("requests Bun cannot turn into a URL", () => {
  const cases: Array<[string, string]> = [
    ["a Host with a slash", "GET /v2/ HTTP/1.1\r\nHost: a/b"],
    ["a Host with a space", "GET /v2/_catalog HTTP/1.1\r\nHost: a b"],
    ["an unterminated IPv6 Host", "GET /v2/ HTTP/1.1\r\nHost: [::1"],
    ["CONNECT to host:port", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443"],
    ["HTTP/1.0 without Host", "GET /v2/ HTTP/1.0"],
    ["a HEAD with a bad Host", "HEAD /v2/ HTTP/1.1\r\nHost: a/b"],
  ];
  test.each(cases)("%s: 400 with the JSON envelope, no paths or source, one access-log line", async (_name, head) => {
    const reply = await rawExchange(request(head));
    expect(reply.status, reply.all).toBe(400);
    expect(reply.headers.get("content-type"), reply.all).toStartWith("application/json");
    if (!head.startsWith("HEAD")) {
      const body = JSON.parse(reply.body) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors[0]?.code).toBe("UNKNOWN");
      expect(body.errors[0]?.message).toContain("Bad request");
    }
    for (const leak of [repoRoot, berth.root, "src/", ".ts", "<html", "__bunfallback", "Invalid URL"]) {
      expect(reply.all, `the answer must not contain ${leak}`).not.toContain(leak);
    }
    expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    const line = await logLine(reply.headers.get("x-request-id"));
    expect(line).toContain("status=400");
  });

  test("a load balancer's bare health check (GET /healthz over HTTP/1.0 without Host) is answered 200", async () => {
    const reply = await rawExchange(request("GET /healthz HTTP/1.0"));
    expect(reply.status, reply.all).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ status: "ok" });
  });

  // The path of an absolute-form target is what is routed, whatever its authority.
  test.each([
    ["http://x:y:z/nowhere", 404], // "/" itself is the web UI
    ["http://x:y:z/v2/", 200],
    ["http://[::1/v2/", 200],
  ])("absolute-form garbage (GET %s) is routed by its path: %i", async (target, status) => {
    const reply = await rawExchange(request(`GET ${target} HTTP/1.1\r\nHost: x`));
    expect(reply.status, reply.all).toBe(status);
    expect(reply.headers.get("content-type"), reply.all).toStartWith("application/json");
    expect(reply.all).not.toContain("<html");
    await expectAlive(berth);
  });
});

describe("Date header", () => {
  const paths = () => ["/v2/", "/v2/_catalog", `/v2/hygiene/app/manifests/v1`, `/v2/hygiene/app/blobs/${image.layers[0]?.digest}`, "/v2/hygiene/app/manifests/absent", "/healthz", "/nowhere"];
  test.each([["GET"], ["HEAD"]])("every %s answer carries exactly one Date header", async (method) => {
    for (const path of paths()) {
      const reply = await rawExchange(request(`${method} ${path} HTTP/1.1\r\nHost: ${berth.host}`));
      const dates = reply.lines.filter((line) => /^date:/i.test(line));
      expect(dates.length, `${method} ${path}:\n${reply.all.slice(0, 600)}`).toBe(1);
      expect(Number.isNaN(Date.parse(reply.headers.get("date") ?? ""))).toBe(false);
    }
  });
});

describe("access log", () => {
  test("records the real body size of JSON answers, the catalog, healthz, manifests and blobs; 0 for HEAD", async () => {
    const layer = image.layers[0];
    const cases: Array<[string, number | null]> = [
      ["/v2/_catalog", null],
      ["/v2/hygiene/app/manifests/absent", null],
      ["/v2/hygiene/app/tags/list", null],
      ["/healthz", null],
      ["/nowhere", null],
      ["/v2/hygiene/app/manifests/v1", image.bytes.byteLength],
      [`/v2/hygiene/app/blobs/${layer?.digest}`, layer?.size ?? -1],
    ];
    for (const [path, expected] of cases) {
      const res = await call(berth.url, path, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
      expect(res.body.byteLength, path).toBeGreaterThan(0);
      if (expected !== null) expect(res.body.byteLength, path).toBe(expected);
      expect(loggedBytes(await logLine(res.headers.get("x-request-id"))), path).toBe(res.body.byteLength);
      const head = await call(berth.url, path, { method: "HEAD" });
      expect(loggedBytes(await logLine(head.headers.get("x-request-id"))), `HEAD ${path}`).toBe(0);
    }
  });

  test("text lines have no empty fields (an anonymous caller has no actor=)", async () => {
    const res = await call(berth.url, "/v2/");
    const line = await logLine(res.headers.get("x-request-id"));
    expect(line).not.toContain("actor=");
    const empty = berth.output().split("\n").filter((l) => / [a-z_]+=(?: |$)/.test(l));
    expect(empty).toEqual([]);
  });

  test("a line names the client's address (looked up for the line, not before a reader needs it)", async () => {
    const res = await call(berth.url, "/v2/hygiene/app/manifests/v1");
    expect(res.status).toBe(200);
    const line = await logLine(res.headers.get("x-request-id"));
    expect(line).toMatch(/ addr=127\.0\.0\.1( |$)/);
  });

  test("the error line of a 500 carries the request id", async () => {
    const repo = "hygiene/broken";
    await pushImage(berth.url, repo, { tag: "v1" });
    // a tag link that is a directory: reading it fails in a way no client can cause
    const link = join(berth.root, "docker/registry/v2/repositories", repo, "_manifests/tags/v1/current/link");
    rmSync(link);
    mkdirSync(link);
    const res = await call(berth.url, `/v2/${repo}/manifests/v1`);
    expect(res.status).toBe(500);
    const id = res.headers.get("x-request-id");
    const output = await waitForOutput(berth, new RegExp(`ERROR request failed id=${id} `));
    expect(output).toMatch(new RegExp(`ERROR request failed id=${id} method=GET path=/v2/${repo}/manifests/v1 `));
    expect(res.text).not.toContain(berth.root);
  });
});
