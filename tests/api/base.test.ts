/**
 * Base endpoints: API version check, health, unknown routes and methods.
 * Spec: distribution-spec v1.1 "Determining Support" (end-1) and the error envelope.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type InProcessBerth, startInProcess } from "../helpers/in-process.ts";
import { removeDir, startBerth, tempDir, testWithServerLog, type BerthProcess } from "../helpers/server.ts";
import { call, type CallInit, expectAlive, expectError, expectStatus, pushImage, show, getManifest, waitFor, type PushedImage } from "../helpers/oci.ts";

let berth: InProcessBerth;

const test = testWithServerLog(() => [berth]);
let image: PushedImage;

beforeAll(async () => {
  berth = await startInProcess();
  image = await pushImage(berth.url, "base/image", { tag: "v1" });
}, 60_000);

afterAll(async () => {
  await berth?.stop();
});

describe("base", () => {
  test("GET /v2/ answers 200 {} with Docker-Distribution-API-Version: registry/2.0", async () => {
    const res = await call(berth.url, "/v2/");
    expectStatus(res, 200);
    expect(res.headers.get("docker-distribution-api-version"), show(res)).toBe("registry/2.0");
    expect(JSON.parse(res.text)).toEqual({});
    expect(res.headers.get("content-type") ?? "", show(res)).toMatch(/^application\/json/);
  });

  test("HEAD /v2/ answers 200 with the API version header", async () => {
    const res = await call(berth.url, "/v2/", { method: "HEAD" });
    expectStatus(res, 200);
    expect(res.headers.get("docker-distribution-api-version"), show(res)).toBe("registry/2.0");
  });

  test("GET /v2 without the trailing slash answers like /v2/ (Distribution redirects there)", async () => {
    const res = await call(berth.url, "/v2");
    expectStatus(res, 200);
    expect(res.headers.get("docker-distribution-api-version"), show(res)).toBe("registry/2.0");
  });

  test("GET /healthz answers 200 when storage is writable", async () => {
    const res = await call(berth.url, "/healthz");
    expectStatus(res, 200);
  });

  test("GET /healthz answers 503 when storage is not writable, and 200 again once it is", async () => {
    const parent = tempDir("berth-health-");
    const root = join(parent, "root");
    mkdirSync(root);
    let sick: BerthProcess | undefined;
    try {
      sick = await startBerth({ root });
      expectStatus(await call(sick.url, "/healthz"), 200);
      // move the storage root away and put a regular file in its place: nothing can be written
      renameSync(root, `${root}.away`);
      writeFileSync(root, "not a directory");
      expectStatus(await call(sick.url, "/healthz"), 503);
      await expectAlive(sick);
      // an empty directory in its place is not the storage Berth started on: still unhealthy
      rmSync(root, { force: true });
      mkdirSync(root);
      expectStatus(await call(sick.url, "/healthz"), 503);
      rmSync(root, { recursive: true, force: true });
      renameSync(`${root}.away`, root);
      const url = sick.url;
      const healthy = await waitFor(async () => (await call(url, "/healthz")).status === 200, 5_000);
      expect(healthy, "healthz should recover once the root is back").toBe(true);
    } finally {
      await sick?.stop();
      removeDir(parent);
    }
  });

  test("an unknown path under /v2/ answers 404", async () => {
    const res = await call(berth.url, "/v2/base/image/nonsense/endpoint");
    expectStatus(res, 404);
  });

  test("unknown methods on /v2/ answer 405 UNSUPPORTED with the JSON error envelope", async () => {
    for (const method of ["PUT", "POST", "DELETE", "PATCH"]) {
      const init: CallInit = { method };
      if (method !== "DELETE") init.body = "x";
      const res = await call(berth.url, "/v2/", init);
      expectError(res, 405, "UNSUPPORTED");
    }
    const weird = await call(berth.url, "/v2/", { method: "PROPFIND" });
    expectError(weird, 405, "UNSUPPORTED");
    await expectAlive(berth);
  });

  test("unknown methods on /v2/_catalog answer 405 UNSUPPORTED with the JSON error envelope", async () => {
    for (const method of ["PUT", "POST", "DELETE", "PATCH"]) {
      const res = await call(berth.url, "/v2/_catalog", { method });
      expectError(res, 405, "UNSUPPORTED");
    }
    await expectAlive(berth);
  });

  test("a malformed percent-encoding in the path answers 404 NOT_FOUND and does not crash the process", async () => {
    const res = await call(berth.url, "/v2/%zz%");
    expectError(res, 404, "NOT_FOUND");
    await expectAlive(berth);
  });

  test("after every bad request the process is alive and earlier data is intact", async () => {
    await expectAlive(berth);
    const res = await getManifest(berth.url, "base/image", "v1");
    expectStatus(res, 200);
    expect(res.text).toBe(new TextDecoder().decode(image.bytes));
  });
});
