/** What a push tells the metadata index: the facts of a prepared manifest, its config included. */
import type { ManifestFacts } from "../metadata/facts.ts";
import { imageConfigDigest, manifestFacts } from "../metadata/facts.ts";
import { parseDigest } from "../oci/digest.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import type { PreparedManifest } from "./manifests.ts";

/** An image config larger than this is not read for labels (real ones are a few KiB). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function factsOfPush(driver: StorageDriver, manifest: PreparedManifest): Promise<ManifestFacts> {
  const configDigest = imageConfigDigest(manifest.parsed);
  let config: Uint8Array | null = null;
  const size = configDigest === null ? undefined : manifest.blobSizes.get(configDigest);
  if (configDigest !== null && size !== undefined && size >= 0 && size <= MAX_CONFIG_BYTES) {
    config = await driver.getContent(paths.blobData(parseDigest(configDigest))).catch(() => null);
  }
  return manifestFacts({ ...manifest, config });
}

/** The blobs a manifest references (not foreign layers): what a push holds shared. */
export function referencedBlobs(manifest: { blobs: ReadonlyArray<{ digest: string; urls?: string[] }> }): string[] {
  return manifest.blobs.filter((blob) => !blob.urls?.length).map((blob) => blob.digest);
}
