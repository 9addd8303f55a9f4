/**
 * Blob reads, uploads, mounts and deletes as the facade runs them: the blob's lock held from
 * its check to its index record (so GC cannot take it in between), the journaled change to
 * the tree with its index record, the before-hooks asked and the events after.
 */
import { type Digest, formatDigest } from "../oci/digest.ts";
import type { RequestInfo } from "../hooks/types.ts";
import type { ChangeScope, MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import type { StorageDriver } from "../storage/driver.ts";
import type { BlobLocks } from "./blob-locks.ts";
import type { BlobInfo, BlobStore } from "./blobs.ts";
import { walkRepositories } from "./catalog.ts";
import { RegistryError } from "../oci/errors.ts";
import { blobTarget } from "./event-targets.ts";
import type { RegistryEvents } from "./registry-events.ts";
import type { RepositoryLock } from "./repository-lock.ts";
import type { ContentRange, UploadStore } from "./uploads.ts";

/** A journaled change to a repository's link to a blob (metadata/reconcile.ts settles it from the tree). */
function layerScope(repository: string, digest: Digest): ChangeScope {
  return { repository, digest: formatDigest(digest), tag: null };
}

/** A blob link's journal entry need not wait for the disk (MetadataIndex.change says what a power cut costs). */
const BLOB_LINK = { durableJournal: false };

export interface BlobOperationsDeps {
  driver: StorageDriver;
  blobs: BlobStore;
  uploads: UploadStore;
  index: MetadataIndex;
  tree: TreeReader;
  blobLocks: BlobLocks;
  repositoryLocks: RepositoryLock;
}

export class BlobOperations {
  constructor(
    private readonly deps: BlobOperationsDeps,
    private readonly events: RegistryEvents,
  ) {}

  /** HEAD (no hook) or GET (asks blob.get) of a blob linked into the repository. */
  async stat(repository: string, digest: Digest, request: RequestInfo, forDownload: boolean): Promise<BlobInfo> {
    const blob = await this.deps.blobs.stat(repository, digest);
    await this.deps.index.touch(digest);
    if (forDownload) await this.events.ask({ hook: "blob.get", repository, digest: formatDigest(digest), request });
    return blob;
  }

  async delete(repository: string, digest: Digest, request: RequestInfo): Promise<void> {
    const { blobs, index, tree } = this.deps;
    const blob = await blobs.stat(repository, digest);
    await this.events.ask({ hook: "blob.delete", repository, digest: formatDigest(digest), request });
    await this.deps.repositoryLocks.exclusive(repository, () =>
      index.change(layerScope(repository, digest), tree, () => blobs.unlink(repository, digest), (tx) => index.blobUnlinked(tx, repository, digest), BLOB_LINK),
    );
    await this.events.announce("delete", blobTarget(repository, digest, blob.size), request);
  }

  async startUpload(repository: string): Promise<string> {
    const id = await this.deps.uploads.start(repository);
    await this.deps.index.uploadStarted(repository, id);
    return id;
  }

  uploadOffset(repository: string, id: string): Promise<number> {
    return this.deps.uploads.offset(repository, id);
  }

  appendUpload(repository: string, id: string, body: ReadableStream<Uint8Array> | null, range: ContentRange | null): Promise<number> {
    return this.deps.uploads.append(repository, id, body, range);
  }

  async completeUpload(repository: string, id: string, digest: Digest, body: ReadableStream<Uint8Array> | null, request: RequestInfo): Promise<void> {
    const { uploads, index, tree } = this.deps;
    // held until the index knows the blob: GC cannot take it between the move and the record
    const record = async (tx: Bun.SQL, stored: number, now: number) => {
      await index.blobLinked(tx, repository, digest, stored, now);
      await index.uploadEnded(tx, id);
    };
    let size: number;
    try {
      size = await this.deps.blobLocks.shared(formatDigest(digest), () =>
        uploads.complete(repository, id, digest, body, async (stored, moveAndLink) => {
          await this.events.ask({ hook: "blob.put", repository, digest: formatDigest(digest), size: stored, request });
          return index.change(layerScope(repository, digest), tree, moveAndLink, (tx, _, now) => record(tx, stored, now), BLOB_LINK);
        }),
      );
    } catch (error) {
      // a wrong digest discards the session (uploads.ts), so does a denial (a quota); other failures leave it to resume
      if (error instanceof RegistryError && error.code === "DENIED") await this.cancelUpload(repository, id).catch(() => undefined);
      if (error instanceof RegistryError && error.code === "DIGEST_INVALID") await index.uploadCancelled(id);
      throw error;
    }
    await this.events.announce("push", blobTarget(repository, digest, size), request);
  }

  async cancelUpload(repository: string, id: string): Promise<void> {
    await this.deps.uploads.cancel(repository, id);
    await this.deps.index.uploadCancelled(id);
  }

  /**
   * Links a blob from `from` into `repository` when `from` has it.
   * @returns false when the source does not have it (the caller then starts a normal upload)
   */
  async mount(repository: string, digest: Digest, from: string, request: RequestInfo): Promise<boolean> {
    const { blobs, index, tree } = this.deps;
    if (!(await blobs.isLinked(from, digest))) return false;
    if (this.events.wants("blob.mount")) {
      const known = await blobs.dataSize(digest);
      await this.events.ask({ hook: "blob.mount", repository, digest: formatDigest(digest), ...(known === null ? {} : { size: known }), request });
    }
    const size = await this.deps.blobLocks.shared(formatDigest(digest), async () => {
      const stored = await blobs.dataSize(digest);
      if (stored === null) return null;
      const link = () => blobs.link(repository, digest);
      await index.change(layerScope(repository, digest), tree, link, (tx, _, now) => index.blobLinked(tx, repository, digest, stored, now), BLOB_LINK);
      return stored;
    });
    if (size === null) return false;
    await this.events.announce("mount", { ...blobTarget(repository, digest, size), fromRepository: from }, request);
    return true;
  }

  /** Removes upload sessions started before `cutoff` in every repository. */
  async purgeUploads(cutoff: Date): Promise<number> {
    let purged = 0;
    for await (const entry of walkRepositories(this.deps.driver)) {
      if (entry.hasUploads) purged += await this.deps.uploads.purgeOlderThan(entry.name, cutoff);
    }
    await this.deps.index.forgetUploadsBefore(cutoff.getTime());
    return purged;
  }
}
