/**
 * The registry's one facade, above storage and below HTTP: what may be read, written and
 * deleted in a repository, which before-hooks are asked and which events follow. The API layer
 * and the plugin host call only this; its stores and the driver stay private.
 */
import { type Digest, formatDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { HookBus } from "../hooks/bus.ts";
import { buildEvent, type EventSource, type EventTarget } from "../hooks/events.ts";
import type { BeforeHookContext, EventAction, RequestInfo } from "../hooks/types.ts";
import type { HealthChecks, StorageDriver } from "../storage/driver.ts";
import { type BlobInfo, BlobStore } from "./blobs.ts";
import { Catalog, walkRepositories } from "./catalog.ts";
import { RegistryError } from "./errors.ts";
import { blobTarget, manifestTarget } from "./event-targets.ts";
import { HashPool } from "./hash-pool.ts";
import { ManifestStore, type PreparedManifest, type Reference, type StoredManifest } from "./manifests.ts";
import { ReferrersIndex } from "./referrers.ts";
import { RepositoryLock } from "./repository-lock.ts";
import { compareTags, type Page, type PageRequest, pageOf } from "./sorted.ts";
import { type ContentRange, UploadStore } from "./uploads.ts";

// The facade's vocabulary: callers import these from here, never from the stores.
export type { BlobInfo, ContentRange, Page, PageRequest, PreparedManifest, Reference, StoredManifest };

export interface HealthReport {
  status: "ok" | "unhealthy";
  checks: HealthChecks;
}

export interface RegistryOptions {
  deleteEnabled: boolean;
}

export class Registry {
  private readonly blobs: BlobStore;
  private readonly uploads: UploadStore;
  private readonly manifests: ManifestStore;
  private readonly referrers: ReferrersIndex;
  private readonly catalog: Catalog;
  private readonly repositoryLocks = new RepositoryLock();

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: RegistryOptions,
    private readonly hooks: HookBus,
    private readonly source: EventSource,
  ) {
    this.blobs = new BlobStore(driver);
    this.uploads = new UploadStore(driver, this.blobs, new HashPool());
    this.referrers = new ReferrersIndex(driver);
    this.manifests = new ManifestStore(driver, this.blobs, this.referrers);
    this.catalog = new Catalog(driver);
  }

  /** HEAD (no hook) or GET (asks blob.get) of a blob linked into the repository. */
  async statBlob(repository: string, digest: Digest, request: RequestInfo, forDownload: boolean): Promise<BlobInfo> {
    const blob = await this.blobs.stat(repository, digest);
    if (forDownload) await this.ask({ hook: "blob.get", repository, digest: formatDigest(digest), request });
    return blob;
  }

  async deleteBlob(repository: string, digest: Digest, request: RequestInfo): Promise<void> {
    this.assertDeleteEnabled();
    const blob = await this.blobs.stat(repository, digest);
    await this.ask({ hook: "blob.delete", repository, digest: formatDigest(digest), request });
    await this.repositoryLocks.exclusive(repository, () => this.blobs.unlink(repository, digest));
    await this.announce("delete", blobTarget(repository, digest, blob.size), request);
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

  async completeUpload(
    repository: string,
    id: string,
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    request: RequestInfo,
  ): Promise<void> {
    const size = await this.uploads.complete(repository, id, digest, body);
    await this.announce("push", blobTarget(repository, digest, size), request);
  }

  cancelUpload(repository: string, id: string): Promise<void> {
    return this.uploads.cancel(repository, id);
  }

  /**
   * Links a blob from `from` into `repository` when `from` has it.
   * @returns false when the source does not have it (the caller then starts a normal upload)
   */
  async mountBlob(repository: string, digest: Digest, from: string, request: RequestInfo): Promise<boolean> {
    if (!(await this.blobs.isLinked(from, digest))) return false;
    const size = await this.blobs.dataSize(digest);
    if (size === null) return false;
    await this.ask({ hook: "blob.mount", repository, digest: formatDigest(digest), request });
    await this.blobs.link(repository, digest);
    await this.announce("mount", { ...blobTarget(repository, digest, size), fromRepository: from }, request);
    return true;
  }

  async putManifest(
    repository: string,
    reference: Reference,
    bytes: Uint8Array,
    contentType: string,
    request: RequestInfo,
  ): Promise<PreparedManifest> {
    // shared with other pushes, exclusive of blob deletes: the blobs checked stay linked
    const manifest = await this.repositoryLocks.shared(repository, () => this.prepareAndStore(repository, reference, bytes, contentType, request));
    this.catalog.add(repository);
    const tag = "tag" in reference ? reference.tag : undefined;
    await this.announce("push", manifestTarget(repository, manifest.digest, manifest.parsed.mediaType, bytes.byteLength, tag), request);
    return manifest;
  }

  private async prepareAndStore(
    repository: string,
    reference: Reference,
    bytes: Uint8Array,
    contentType: string,
    request: RequestInfo,
  ): Promise<PreparedManifest> {
    const manifest = await this.manifests.prepare(repository, reference, bytes, contentType);
    const tag = "tag" in reference ? reference.tag : undefined;
    if (this.hooks.wants("manifest.put")) {
      const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
      await this.ask({
        hook: "manifest.put",
        repository,
        ...(tag === undefined ? {} : { tag }),
        digest: formatDigest(manifest.digest),
        mediaType: manifest.parsed.mediaType,
        manifest: { bytes: bytes.slice(), json }, // a copy: what is stored must match the digest
        request,
      });
    }
    await this.manifests.store(manifest);
    return manifest;
  }

  /** HEAD asks manifest.get too (it reveals the digest) but only a GET is a pull event. */
  async getManifest(repository: string, reference: Reference, request: RequestInfo, isPull: boolean): Promise<StoredManifest> {
    const manifest = await this.manifests.get(repository, reference);
    const tag = "tag" in reference ? reference.tag : undefined;
    await this.ask({
      hook: "manifest.get",
      repository,
      ...(tag === undefined ? {} : { tag }),
      digest: formatDigest(manifest.digest),
      mediaType: manifest.mediaType,
      request,
    });
    if (isPull) await this.announce("pull", manifestTarget(repository, manifest.digest, manifest.mediaType, manifest.bytes.byteLength, tag), request);
    return manifest;
  }

  /** A manifest as stored, without asking hooks or emitting a pull (for plugins, the UI, GC). */
  readManifest(repository: string, reference: Reference): Promise<StoredManifest> {
    return this.manifests.get(repository, reference);
  }

  async deleteManifest(repository: string, reference: Reference, request: RequestInfo): Promise<void> {
    this.assertDeleteEnabled();
    if ("tag" in reference) {
      const digest = await this.manifests.resolve(repository, reference).catch(async (error: unknown) => {
        await this.manifests.clearGhostTag(repository, reference.tag);
        throw error;
      });
      await this.ask({ hook: "tag.delete", repository, tag: reference.tag, digest: formatDigest(digest), request });
      await this.manifests.deleteTag(repository, reference.tag);
      await this.announce("delete", manifestTarget(repository, digest, "", 0, reference.tag), request);
      return;
    }
    const existing = await this.manifests.get(repository, reference);
    await this.ask({ hook: "manifest.delete", repository, digest: formatDigest(existing.digest), mediaType: existing.mediaType, request });
    await this.manifests.delete(repository, reference.digest);
    await this.announce("delete", manifestTarget(repository, existing.digest, existing.mediaType, existing.bytes.byteLength), request);
  }

  /** Every repository with manifests, sorted by bytes. */
  repositories(): Promise<readonly string[]> {
    return this.catalog.all();
  }

  /** A page of the catalog; `visible` (the caller's pull rights) filters before paging. */
  async catalogPage(request: PageRequest, visible?: (name: string) => boolean): Promise<Page> {
    const names = await this.catalog.all();
    return pageOf(visible ? names.filter(visible) : names, request);
  }

  /**
   * Tag names in the spec's lexical order (case-insensitive, then by byte to be total).
   * @throws RegistryError NAME_UNKNOWN for a repository with no manifests
   */
  async tags(repository: string): Promise<readonly string[]> {
    await this.assertRepositoryExists(repository);
    return this.manifests.tags(repository);
  }

  async tagPage(repository: string, request: PageRequest): Promise<Page> {
    return pageOf(await this.tags(repository), request, compareTags);
  }

  /**
   * The whole tag list as tags/list answers it, `{"name":…,"tags":[…]}`, serialised once per
   * change; null when it has more than `maxTags` tags (the caller pages instead).
   */
  async tagListJson(repository: string, maxTags: number): Promise<string | null> {
    await this.assertRepositoryExists(repository);
    return this.manifests.tagsJson(repository, maxTags);
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

  /** The storage's checks (see StorageDriver.health); "ok" only when every check is. */
  async health(): Promise<HealthReport> {
    const checks = await this.driver.health();
    const ok = Object.values(checks).every((result) => result === "ok");
    return { status: ok ? "ok" : "unhealthy", checks };
  }

  private async ask(context: BeforeHookContext): Promise<void> {
    if (this.hooks.wants(context.hook)) await this.hooks.before(context);
  }

  /** Returns once durable listeners (the webhook queue) have recorded the event. */
  private announce(action: EventAction, target: EventTarget, request: RequestInfo): Promise<void> {
    return this.hooks.emit(buildEvent(this.source, action, target, request));
  }

  private async assertRepositoryExists(repository: string): Promise<void> {
    if (!(await this.manifests.repositoryExists(repository))) {
      throw new RegistryError("NAME_UNKNOWN", {
        message: `Repository ${repository} is not known to this registry`,
        detail: { name: repository },
      });
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
