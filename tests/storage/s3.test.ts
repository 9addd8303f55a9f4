/**
 * The S3 driver on a real Ceph RGW (tests/helpers/ceph.ts): the shared contract suite, then
 * what only an object store needs (parts, copies, resuming in another process).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3Driver } from "../../src/storage/s3/driver.ts";
import type { S3Settings } from "../../src/storage/s3/settings.ts";
import { CEPH_MIN_PART, type CephCluster, cephAvailable, startCeph } from "../helpers/ceph.ts";
import { randomBytes, runDriverSuite, walked } from "./driver-suite.ts";

const available = cephAvailable();
let ceph: CephCluster | null = null;
let bucket = "";
let prefixes = 0;

beforeAll(async () => {
  if (!available) return;
  ceph = await startCeph();
  bucket = await ceph.createBucket();
}, 180_000);
afterAll(async () => {
  await ceph?.stop();
}, 60_000);

function settings(overrides: Partial<S3Settings> = {}): S3Settings {
  if (!ceph) throw new Error("Ceph did not start");
  return ceph.settings(bucket, { prefix: `t${++prefixes}/reg`, ...overrides });
}

/** A driver on a prefix of its own, emptied afterwards. */
function fresh(overrides: Partial<S3Settings> = {}, maxCopy?: number): { driver: S3Driver; cleanup: () => Promise<void> } {
  const driver = new S3Driver(settings(overrides), maxCopy === undefined ? {} : { maxCopy });
  return { driver, cleanup: () => driver.delete("") };
}

if (available) {
  // small parts (RGW is told to take them): the suite's writers cross part boundaries
  runDriverSuite("s3", async () => fresh({ chunkSize: 256 * 1024 }));
}

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

describe.skipIf(!available)("s3 driver", () => {
  test("keys are Distribution's layout under the prefix", async () => {
    const { driver, cleanup } = fresh({ prefix: "under/here" });
    try {
      await driver.putContent("docker/registry/v2/blobs/sha256/ab/abc/data", "x");
      const raw = new S3Driver(settings({ prefix: "" }));
      expect((await walked(raw.walk("under"))).map((e) => e.path)).toEqual(["under/here/docker/registry/v2/blobs/sha256/ab/abc/data"]);
    } finally {
      await cleanup();
    }
  });

  test("an upload of more than 1,000 parts, then resumed by another driver (another process)", async () => {
    const { driver, cleanup } = fresh({ chunkSize: CEPH_MIN_PART });
    try {
      const hasher = new Bun.CryptoHasher("sha256");
      const writer = await driver.writer("up/data");
      const part = randomBytes(CEPH_MIN_PART);
      for (let i = 0; i < 1_030; i++) {
        new DataView(part.buffer).setUint32(0, i);
        hasher.update(part);
        await writer.write(part);
      }
      await writer.close();
      // a second driver on the same bucket and prefix knows nothing of the first: only S3 does
      const other = new S3Driver(driver["settings"]);
      const resumed = await other.writer("up/data");
      expect(resumed.size).toBe(1_030 * CEPH_MIN_PART);
      const tail = randomBytes(100_000);
      hasher.update(tail);
      await resumed.write(tail);
      await resumed.commit();
      expect((await driver.stat("up/data")).size).toBe(1_030 * CEPH_MIN_PART + 100_000);
      const read = new Bun.CryptoHasher("sha256");
      for await (const chunk of driver.blob("up/data").stream()) read.update(chunk);
      expect(read.digest("hex")).toBe(hasher.digest("hex"));
    } finally {
      await cleanup();
    }
  }, 300_000);

  test("a move above the single-copy limit is a multipart copy (the 5 GiB path, with a small limit)", async () => {
    const { driver, cleanup } = fresh({ chunkSize: CEPH_MIN_PART }, 200_000);
    try {
      const content = randomBytes(1_000_000);
      await driver.putContent("m/from", content);
      await driver.move("m/from", "m/to");
      expect(sha256(await driver.getContent("m/to"))).toBe(sha256(content));
      expect(await driver.list("m")).toEqual(["to"]);
      // a writer resuming over an object above the limit copies it in several parts
      const writer = await driver.writer("m/to");
      await writer.write(content.subarray(0, CEPH_MIN_PART));
      await writer.commit();
      expect((await driver.stat("m/to")).size).toBe(1_000_000 + CEPH_MIN_PART);
    } finally {
      await cleanup();
    }
  }, 120_000);

  test("a cancelled writer leaves the object as it was and no unfinished upload", async () => {
    const { driver, cleanup } = fresh({ chunkSize: CEPH_MIN_PART });
    try {
      await driver.putContent("c/data", randomBytes(3 * CEPH_MIN_PART));
      const writer = await driver.writer("c/data");
      await writer.write(randomBytes(5 * CEPH_MIN_PART));
      await writer.cancel();
      expect((await driver.stat("c/data")).size).toBe(3 * CEPH_MIN_PART);
      expect(await driver.requests.listMultipartUploads(`${driver["settings"].prefix}/c/`)).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  test("delete aborts the unfinished upload a killed writer left", async () => {
    const { driver, cleanup } = fresh({ chunkSize: CEPH_MIN_PART });
    try {
      const writer = await driver.writer("k/_uploads/1/data");
      await writer.write(randomBytes(2 * CEPH_MIN_PART)); // a part is sent: the upload exists
      const prefix = `${driver["settings"].prefix}/k/`;
      expect((await driver.requests.listMultipartUploads(prefix)).length).toBe(1);
      await driver.delete("k/_uploads/1"); // the writer is never finished: its process "died"
      expect(await driver.requests.listMultipartUploads(prefix)).toEqual([]);
      expect(await driver.list("k")).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  test("redirectUrl is a presigned GET that works, only with redirect on", async () => {
    const { driver, cleanup } = fresh({ redirect: true });
    try {
      await driver.putContent("r/data", "presigned bytes");
      const url = driver.redirectUrl("r/data");
      expect(url).not.toBeNull();
      const response = await fetch(url ?? "");
      expect(await response.text()).toBe("presigned bytes");
      expect(new S3Driver(settings()).redirectUrl("r/data")).toBeNull();
    } finally {
      await cleanup();
    }
  });
});
