/**
 * Checking a pushed manifest's references costs one lookup per distinct digest, however often
 * the manifest lists it, and the number of descriptors is bounded.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { RegistryError } from "../../src/oci/errors.ts";
import { digestOf, formatDigest } from "../../src/oci/digest.ts";
import { BlobStore } from "../../src/registry/blobs.ts";
import { writeLink } from "../../src/registry/links.ts";
import { MAX_DESCRIPTORS, ManifestStore } from "../../src/registry/manifests.ts";
import { ReferrersIndex } from "../../src/registry/referrers.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { paths } from "../../src/storage/paths.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Counts reads and stats per path. */
class CountingDriver extends FilesystemDriver {
  readonly lookups = new Map<string, number>();
  private counted(path: string): void {
    this.lookups.set(path, (this.lookups.get(path) ?? 0) + 1);
  }
  override async getContent(path: string): Promise<Uint8Array> {
    this.counted(path);
    return super.getContent(path);
  }
  override async stat(path: string) {
    this.counted(path);
    return super.stat(path);
  }
}

const encoder = new TextEncoder();
const REPO = "team/app";

async function setUp() {
  const root = tempDir("berth-refs-");
  dirs.push(root);
  const driver = new CountingDriver(root);
  const store = new ManifestStore(driver, new BlobStore(driver), new ReferrersIndex(driver));
  const addBlob = async (bytes: Uint8Array) => {
    const digest = digestOf(bytes);
    await driver.putContent(paths.blobData(digest), bytes);
    await writeLink(driver, paths.layerLink(REPO, digest), digest);
    return { digest, size: bytes.byteLength };
  };
  return { driver, store, addBlob };
}

describe("manifest references", () => {
  test("a manifest listing one layer 1000 times looks the blob up once", async () => {
    const { driver, store, addBlob } = await setUp();
    const config = await addBlob(encoder.encode("{}"));
    const layer = await addBlob(encoder.encode("layer"));
    const layerDescriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: formatDigest(layer.digest), size: layer.size };
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: formatDigest(config.digest), size: config.size },
      layers: Array(1000).fill(layerDescriptor),
    };
    driver.lookups.clear();
    await store.prepare(REPO, { tag: "v1" }, encoder.encode(JSON.stringify(manifest)), "");
    expect(driver.lookups.get(paths.layerLink(REPO, layer.digest))).toBe(1);
    expect(driver.lookups.get(paths.blobData(layer.digest))).toBe(1);
  });

  test("an index listing one child 1000 times looks it up once", async () => {
    const { driver, store } = await setUp();
    const child = digestOf(encoder.encode("child manifest"));
    await writeLink(driver, paths.manifestRevisionLink(REPO, child), child);
    const descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: formatDigest(child), size: 14 };
    const index = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: Array(1000).fill(descriptor) };
    driver.lookups.clear();
    await store.prepare(REPO, { tag: "v1" }, encoder.encode(JSON.stringify(index)), "");
    const childLookups = [...driver.lookups].filter(([path]) => path.includes(child.hex));
    expect(childLookups.map(([, count]) => count)).toEqual([1]);
  });

  test(`more than ${MAX_DESCRIPTORS} descriptors is MANIFEST_INVALID before any lookup`, async () => {
    const { driver, store } = await setUp();
    const descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 1 };
    const subject = { ...descriptor, digest: `sha256:${"b".repeat(64)}` };
    // index entries plus the subject: one over the bound
    const index = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: Array(MAX_DESCRIPTORS).fill(descriptor), subject };
    driver.lookups.clear();
    const error = await store.prepare(REPO, { tag: "v1" }, encoder.encode(JSON.stringify(index)), "").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe("MANIFEST_INVALID");
    expect((error as RegistryError).message).toContain(`${MAX_DESCRIPTORS + 1} descriptors`);
    expect(driver.lookups.size).toBe(0);
  });
});
