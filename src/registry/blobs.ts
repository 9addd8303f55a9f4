/**
 * Blobs as seen through a repository: a blob is readable in a repository only when it is
 * linked there (pushed or mounted), so knowing a digest reveals nothing of other repositories.
 */
import { RegistryError } from "../oci/errors.ts";
import { type Digest, formatDigest } from "../oci/digest.ts";
import { PathNotFoundError, type StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { readLink, writeLink } from "./links.ts";

export interface BlobInfo {
  digest: Digest;
  size: number;
  /** the bytes, read lazily (sendfile for the filesystem driver); size may be NaN (an S3File) */
  content: Blob;
  /** where the client may download it itself (a presigned URL: [storage] redirect), or null */
  redirectUrl(): string | null;
}

export class BlobStore {
  constructor(private readonly driver: StorageDriver) {}

  /** Size of the stored blob data, or null when no blob has this digest. */
  async dataSize(digest: Digest): Promise<number | null> {
    try {
      return (await this.driver.stat(paths.blobData(digest))).size;
    } catch (error) {
      if (error instanceof PathNotFoundError) return null;
      throw error;
    }
  }

  async isLinked(repository: string, digest: Digest): Promise<boolean> {
    const link = await readLink(this.driver, paths.layerLink(repository, digest));
    return link !== null && formatDigest(link) === formatDigest(digest);
  }

  /** @throws RegistryError BLOB_UNKNOWN unless the blob is linked into `repository` and present */
  async stat(repository: string, digest: Digest): Promise<BlobInfo> {
    if (!(await this.isLinked(repository, digest))) throw this.unknown(digest);
    const size = await this.dataSize(digest);
    if (size === null) throw this.unknown(digest);
    const path = paths.blobData(digest);
    return { digest, size, content: this.driver.blob(path), redirectUrl: () => this.driver.redirectUrl?.(path) ?? null };
  }

  async link(repository: string, digest: Digest): Promise<void> {
    await writeLink(this.driver, paths.layerLink(repository, digest), digest);
  }

  /** Unlinks the blob from the repository; the data stays for other repositories (and GC). */
  async unlink(repository: string, digest: Digest): Promise<void> {
    if (!(await this.isLinked(repository, digest))) throw this.unknown(digest);
    await this.driver.delete(paths.layerLinkDir(repository, digest));
  }

  private unknown(digest: Digest): RegistryError {
    return new RegistryError("BLOB_UNKNOWN", {
      message: `Blob ${formatDigest(digest)} is not known to this repository`,
      detail: { digest: formatDigest(digest) },
    });
  }
}
