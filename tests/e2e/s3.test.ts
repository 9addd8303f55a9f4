/**
 * Berth on S3 (a Ceph RGW started here): docker push and pull through the compiled binary; a
 * bucket written by Distribution 2.8.2's S3 driver served as it is; an upload begun on one
 * Berth process and continued on another (the state is in the bucket); redirected downloads.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startDistribution } from "../helpers/distribution.ts";
import { buildTestImage, ensureDocker, pullImage, pushImage, removeImage, runImage, tagImage, type TestImage } from "../helpers/docker.ts";
import { CEPH_ACCESS_KEY, CEPH_REGION, CEPH_SECRET_KEY, type CephCluster, cephAvailable, startCeph } from "../helpers/ceph.ts";
import { RunningServers } from "../helpers/process.ts";
import { call, pushImage as pushOci, randomBytes, sha256 } from "../helpers/oci.ts";
import { startS3FaultProxy } from "../helpers/s3-fault-proxy.ts";
import { startBerth, withServerLog } from "../helpers/server.ts";

const available = cephAvailable();

describe.skipIf(!available)("Berth on S3 (Ceph RGW)", () => {
  let ceph: CephCluster | null = null;
  const servers = new RunningServers();
  const images: TestImage[] = [];

  beforeAll(async () => {
    await ensureDocker();
    ceph = await startCeph();
  }, 180_000);
  afterAll(async () => {
    await servers.stopAll();
    for (const image of images) await removeImage(image.id);
    await ceph?.stop();
  }, 120_000);

  function cluster(): CephCluster {
    if (!ceph) throw new Error("Ceph did not start");
    return ceph;
  }

  /** Berth's environment for a bucket: its local state in the temp root startBerth makes. */
  function s3Env(bucket: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      BERTH_STORAGE_DRIVER: "s3",
      BERTH_STORAGE_S3_BUCKET: bucket,
      BERTH_STORAGE_S3_ENDPOINT: cluster().endpoint,
      BERTH_STORAGE_S3_REGION: CEPH_REGION,
      BERTH_STORAGE_S3_FORCE_PATH_STYLE: "true",
      // the credentials through the usual AWS variables
      AWS_ACCESS_KEY_ID: CEPH_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: CEPH_SECRET_KEY,
      ...extra,
    };
  }

  test("docker push to Berth on S3, then pull and run from a second Berth on the same bucket", withServerLog(() => servers.list(), async () => {
      const bucket = await cluster().createBucket();
      const image = await buildTestImage({ name: "s3" });
      images.push(image);
      const first = await servers.started(startBerth({ env: s3Env(bucket, { BERTH_STORAGE_S3_PREFIX: "registry" }) }));
      const ref = `${first.host}/s3/app:v1`;
      await tagImage(image.id, ref);
      const pushed = await pushImage(ref);
      await servers.stopped(first);
      await removeImage(ref);

      const second = await servers.started(startBerth({ env: s3Env(bucket, { BERTH_STORAGE_S3_PREFIX: "registry" }) }));
      const pulledRef = `${second.host}/s3/app:v1`;
      expect(await pullImage(pulledRef)).toBe(pushed);
      expect((await runImage(pulledRef)).trim()).toBe(image.text);
      await removeImage(pulledRef);
    }), 300_000);

  test("the object store failing under a running Berth: 503 with a clear message, /healthz says so, and all is served again when it recovers", withServerLog(() => servers.list(), async () => {
      const bucket = await cluster().createBucket();
      const proxy = startS3FaultProxy(cluster().endpoint);
      try {
        const berth = await servers.started(startBerth({ env: s3Env(bucket, { BERTH_STORAGE_S3_ENDPOINT: proxy.endpoint }) }));
        const before = await pushOci(berth.url, "faults/app", { tag: "v1" });
        proxy.failing = true;
        const upload = await call(berth.url, "/v2/faults/app/blobs/uploads/", { method: "POST" });
        expect(upload.status).toBe(503);
        expect(upload.text).toContain("the object store is unreachable or busy");
        const blob = await call(berth.url, `/v2/faults/app/blobs/${before.layers[0]?.digest ?? ""}`);
        expect(blob.status).toBe(503);
        const health = await call(berth.url, "/healthz");
        expect(health.status).toBe(503);
        expect(health.text).toContain("the bucket does not answer");
        expect(proxy.refused).toBeGreaterThan(0);
        proxy.failing = false;
        const after = await pushOci(berth.url, "faults/app", { tag: "v2" });
        for (const image of [before, after]) {
          for (const part of [image.config, ...image.layers]) {
            const answer = await call(berth.url, `/v2/faults/app/blobs/${part.digest}`);
            expect(answer.status).toBe(200);
            expect(sha256(new Uint8Array(answer.body))).toBe(part.digest);
          }
        }
        expect((await call(berth.url, "/healthz")).status).toBe(200);
      } finally {
        proxy.stop();
      }
    }), 180_000);

  test("a bucket written by Distribution 2.8.2's S3 driver is served as it is", withServerLog(() => servers.list(), async () => {
      const bucket = await cluster().createBucket();
      const image = await buildTestImage({ name: "s3-distribution" });
      images.push(image);
      const distribution = await servers.started(
        startDistribution({
          storageDriver: [
            "  s3:",
            `    regionendpoint: ${cluster().endpoint}`,
            `    bucket: ${bucket}`,
            `    accesskey: ${CEPH_ACCESS_KEY}`,
            `    secretkey: ${CEPH_SECRET_KEY}`,
            `    region: ${CEPH_REGION}`,
            "    rootdirectory: /dist",
            "    secure: false",
            "    v4auth: true",
          ],
        }),
      );
      const ref = `${distribution.host}/from/distribution:v1`;
      await tagImage(image.id, ref);
      const pushed = await pushImage(ref);
      await servers.stopped(distribution);
      await removeImage(ref);

      const berth = await servers.started(startBerth({ env: s3Env(bucket, { BERTH_STORAGE_S3_PREFIX: "dist" }) }));
      const pulledRef = `${berth.host}/from/distribution:v1`;
      expect(await pullImage(pulledRef)).toBe(pushed);
      expect((await runImage(pulledRef)).trim()).toBe(image.text);
      const tags = (await (await fetch(`${berth.url}/v2/from/distribution/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toEqual(["v1"]);
      await removeImage(pulledRef);
    }), 300_000);

  test("a chunked upload begun on one Berth process is continued on another (POST on one, PATCH on the other)", withServerLog(() => servers.list(), async () => {
      const bucket = await cluster().createBucket();
      // parts of 64 KiB (RGW accepts them here): the chunks below cross part boundaries
      const env = s3Env(bucket, { BERTH_STORAGE_S3_CHUNK_SIZE: "65536" });
      const [a, b] = await Promise.all([servers.started(startBerth({ env })), servers.started(startBerth({ env }))]);
      const blob = randomBytes(300_000);
      const digest = sha256(blob);
      const started = await fetch(`${a.url}/v2/chunked/blob/blobs/uploads/`, { method: "POST" });
      expect(started.status).toBe(202);
      const location = started.headers.get("location") ?? "";
      const path = new URL(location, a.url).pathname + new URL(location, a.url).search;
      const chunks = [blob.subarray(0, 100_000), blob.subarray(100_000, 250_000), blob.subarray(250_000)];
      let next = path;
      for (const [i, chunk] of chunks.entries()) {
        const server = i % 2 === 0 ? b : a; // alternate: no chunk lands where the previous one did
        const start = i === 0 ? 0 : i === 1 ? 100_000 : 250_000;
        const patched = await fetch(`${server.url}${next}`, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream", "Content-Range": `${start}-${start + chunk.byteLength - 1}` },
          body: chunk,
        });
        expect(patched.status).toBe(202);
        expect(patched.headers.get("range")).toBe(`0-${start + chunk.byteLength - 1}`);
        const url = new URL(patched.headers.get("location") ?? "", server.url);
        next = url.pathname + url.search;
      }
      const separator = next.includes("?") ? "&" : "?";
      const done = await fetch(`${b.url}${next}${separator}digest=${digest}`, { method: "PUT" });
      expect(`${done.status} ${done.status === 201 ? "" : await done.text()}`).toBe("201 ");
      const read = await fetch(`${a.url}/v2/chunked/blob/blobs/${digest}`);
      expect(read.status).toBe(200);
      expect(sha256(new Uint8Array(await read.arrayBuffer()))).toBe(sha256(blob));
    }), 120_000);

  test("[storage] redirect = true answers blob GETs with a 307 to a presigned URL that works", withServerLog(() => servers.list(), async () => {
      const bucket = await cluster().createBucket();
      const berth = await servers.started(startBerth({ env: s3Env(bucket, { BERTH_STORAGE_REDIRECT: "true" }) }));
      const blob = randomBytes(70_000);
      const digest = sha256(blob);
      const put = await fetch(`${berth.url}/v2/redirect/me/blobs/uploads/?digest=${digest}`, { method: "POST", body: blob, headers: { "Content-Type": "application/octet-stream" } });
      expect(put.status).toBe(201);
      const head = await fetch(`${berth.url}/v2/redirect/me/blobs/${digest}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe("70000");
      const got = await fetch(`${berth.url}/v2/redirect/me/blobs/${digest}`, { redirect: "manual" });
      expect(got.status).toBe(307);
      const location = got.headers.get("location") ?? "";
      expect(location.startsWith(`${cluster().endpoint}/${bucket}/docker/registry/v2/blobs/sha256/`)).toBe(true);
      const fetched = await fetch(location);
      expect(fetched.status).toBe(200);
      expect(sha256(new Uint8Array(await fetched.arrayBuffer()))).toBe(sha256(blob));
      // without redirect (the first test's servers), the bytes stream through Berth: checked by the pulls
    }), 120_000);
});
