/** Link files: small files holding a digest, as Distribution writes them. */
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import { PathNotFoundError, type StorageDriver } from "../storage/driver.ts";

export async function readLink(driver: StorageDriver, path: string): Promise<Digest | null> {
  try {
    const text = new TextDecoder().decode(await driver.getContent(path)).trim();
    return parseDigest(text);
  } catch (error) {
    if (error instanceof PathNotFoundError) return null;
    // A damaged link (e.g. a torn write by another tool) reads as absent rather than a 500.
    if (error instanceof RegistryError) return null;
    throw error;
  }
}

/**
 * Not durable on its own: every link is written inside a metadata-index change, which syncs the
 * storage once before the client is answered (MetadataIndex.change).
 */
export async function writeLink(driver: StorageDriver, path: string, digest: Digest): Promise<void> {
  await driver.putContent(path, formatDigest(digest), { durable: false });
}

export async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (error) {
    if (error instanceof PathNotFoundError) return false;
    throw error;
  }
}
