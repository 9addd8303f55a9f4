/** A manifest's bytes as the blob store holds them, parsed: what serving and indexing both read. */
import type { Digest } from "../oci/digest.ts";
import { type ParsedManifest, parseManifest } from "../oci/manifest.ts";
import { PathNotFoundError, type StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";

/** null when no blob has this digest, or its bytes are not a manifest Berth serves. */
export async function readManifestBlob(driver: StorageDriver, digest: Digest): Promise<{ bytes: Uint8Array; parsed: ParsedManifest } | null> {
  let bytes: Uint8Array;
  try {
    bytes = await driver.getContent(paths.blobData(digest));
  } catch (error) {
    if (error instanceof PathNotFoundError) return null;
    throw error;
  }
  try {
    return { bytes, parsed: parseManifest(bytes, "") };
  } catch {
    return null;
  }
}
