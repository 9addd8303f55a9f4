/**
 * The registry's rules, above storage and below HTTP: what may be read, written and deleted
 * in a repository. The API layer calls only this.
 */
import { RegistryError } from "../api/errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { type BlobInfo, BlobStore } from "./blobs.ts";
import { Catalog, walkRepositories } from "./catalog.ts";
import { ManifestStore, type PutResult, type Reference, type StoredManifest } from "./manifests.ts";
import { ReferrersIndex } from "./referrers.ts";
import { type ContentRange, UploadStore } from "./uploads.ts";

export interface RegistryOptions {
  deleteEnabled: boolean;
}

export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly manifests: ManifestStore;
  readonly referrers: ReferrersIndex;
  readonly catalog: Catalog;

  constructor(
    readonly driver: StorageDriver,
    private readonly options: RegistryOptions,
  ) {
    this.blobs = new BlobStore(driver);
    this.uploads = new UploadStore(driver, this.blobs);
    this.referrers = new ReferrersIndex(driver);
    this.manifests = new ManifestStore(driver, this.blobs, this.referrers);
    this.catalog = new Catalog(driver);
  }

  statBlob(repository: string, digest: Digest): Promise<BlobInfo> {
    return this.blobs.stat(repository, digest);
  }

  async deleteBlob(repository: string, digest: Digest): Promise<void> {
    this.assertDeleteEnabled();
    await this.blobs.unlink(repository, digest);
  }

  startUpload(repository: string): Promise<string> {
    return this.uploads.start(repository);
  }

  uploadOffset(repository: string, id: string): Promise<number> {
    return this.uploads.offset(repository, id);
  }

  appendUpload(repository: string, id: string, body: ReadableStream<Uint8Array> | null, range: ContentRange | null): Promise<number> {
    return this.uploads.append(repository, id, body, range);
  }

  completeUpload(repository: string, id: string, digest: Digest, body: ReadableStream<Uint8Array> | null): Promise<number> {
    return this.uploads.complete(repository, id, digest, body);
  }

  cancelUpload(repository: string, id: string): Promise<void> {
    return this.uploads.cancel(repository, id);
  }

  /**
   * Links a blob from `from` into `repository` when `from` has it.
   * @returns false when the source does not have it (the caller then starts a normal upload)
   */
  async mountBlob(repository: string, digest: Digest, from: string): Promise<boolean> {
    if (!(await this.blobs.isLinked(from, digest)) || (await this.blobs.dataSize(digest)) === null) return false;
    await this.blobs.link(repository, digest);
    return true;
  }

  async putManifest(repository: string, reference: Reference, bytes: Uint8Array, contentType: string): Promise<PutResult> {
    const result = await this.manifests.put(repository, reference, bytes, contentType);
    this.catalog.add(repository);
    return result;
  }

  getManifest(repository: string, reference: Reference): Promise<StoredManifest> {
    return this.manifests.get(repository, reference);
  }

  async deleteManifest(repository: string, reference: Reference): Promise<void> {
    this.assertDeleteEnabled();
    if ("tag" in reference) await this.manifests.deleteTag(repository, reference.tag);
    else await this.manifests.delete(repository, reference.digest);
  }

  /** @throws RegistryError NAME_UNKNOWN for a repository with no manifests */
  async tags(repository: string): Promise<string[]> {
    if (!(await this.manifests.repositoryExists(repository))) {
      throw new RegistryError("NAME_UNKNOWN", {
        message: `Repository ${repository} is not known to this registry`,
        detail: { name: repository },
      });
    }
    return this.manifests.tags(repository);
  }

  referrersOf(repository: string, subject: Digest): Promise<Descriptor[]> {
    return this.referrers.list(repository, subject);
  }

  /** Removes upload sessions started before `cutoff` in every repository. */
  async purgeUploads(cutoff: Date): Promise<number> {
    let purged = 0;
    for await (const entry of walkRepositories(this.driver)) {
      if (entry.hasUploads) purged += await this.uploads.purgeOlderThan(entry.name, cutoff);
    }
    return purged;
  }

  /** Writes and removes a probe file: can we still store data? */
  async healthy(): Promise<boolean> {
    try {
      await this.driver.putContent(paths.healthProbe(), new Date().toISOString());
      await this.driver.delete(paths.healthProbe());
      return true;
    } catch {
      return false;
    }
  }

  private assertDeleteEnabled(): void {
    if (!this.options.deleteEnabled) {
      throw new RegistryError("UNSUPPORTED", {
        message: "Deletes are disabled on this registry (storage.delete = false)",
      });
    }
  }
}
