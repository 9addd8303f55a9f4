/**
 * The registry's one facade, above storage and below HTTP: what may be read, written and
 * deleted in a repository, which before-hooks are asked and which events follow. The API layer
 * and the plugin host call only this; its stores and the driver stay private.
 */
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import { GarbageCollector, type GcOptions, type GcReport } from "../gc/collector.ts";
import { type GcStatus, gcStatus } from "../gc/status.ts";
import type { Descriptor, ParsedManifest } from "../oci/manifest.ts";
import type { RebuildProgress } from "../metadata/rebuild.ts";
import { Listings } from "./listings.ts";
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
import type { MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { parseManifest } from "../oci/manifest.ts";
import { BlobLocks } from "./blob-locks.ts";
import { factsOfPush, referencedBlobs } from "./indexing.ts";
import { ReferrersIndex } from "./referrers.ts";
import { treeReader } from "./tree-reader.ts";
import { RepositoryLock } from "./repository-lock.ts";
import { compareTags, type Page, type PageRequest, pageOf } from "./sorted.ts";
import { type ContentRange, UploadStore } from "./uploads.ts";

// The facade's vocabulary: callers import these from here, never from the stores.
export type { BlobInfo, ContentRange, GcOptions, GcReport, GcStatus, Page, PageRequest, PreparedManifest, Reference, StoredManifest };

export interface HealthReport {
  status: "ok" | "unhealthy";
  checks: HealthChecks;
}

export interface RegistryOptions {
  deleteEnabled: boolean;
  /** gc.delay: how long an unreferenced blob waits (the index's review times) */
  gcDelayMs: number;
  /** gc.untagged: untagged manifests unpulled this long go at GC; null keeps them */
  gcUntaggedMs?: number | null;
}

/** Who GC's manifest deletes are by, in events and tag history. */
const GC_REQUEST: RequestInfo = { id: "", addr: "", host: "", method: "DELETE", useragent: "", actor: "berth:gc" };

export class Registry {
  private readonly blobs: BlobStore;
  private readonly uploads: UploadStore;
  private readonly manifests: ManifestStore;
  private readonly referrers: ReferrersIndex;
  private readonly catalog: Catalog;
  private readonly repositoryLocks = new RepositoryLock();
  private readonly blobLocks = new BlobLocks();
  private readonly tree: TreeReader;
  private readonly listings: Listings;
  private readonly collector: GarbageCollector;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: RegistryOptions,
    private readonly hooks: HookBus,
    private readonly source: EventSource,
    private readonly index: MetadataIndex,
  ) {
    this.blobs = new BlobStore(driver);
    this.uploads = new UploadStore(driver, this.blobs, new HashPool());
    this.referrers = new ReferrersIndex(driver);
    this.tree = treeReader(driver);
    this.listings = new Listings(index, this.tree, this.repositoryLocks, options.gcDelayMs);
    this.manifests = new ManifestStore(driver, this.blobs, this.referrers, (repository) => this.listings.tags(repository));
    this.catalog = new Catalog(driver, () => this.listings.repositories());
    this.collector = new GarbageCollector({
      driver,
      index,
      tree: this.tree,
      blobLocks: this.blobLocks,
      untaggedMs: options.gcUntaggedMs ?? null,
      deleteManifest: (repository, digest) => this.deleteManifest(repository, { digest: parseDigest(digest) }, { ...GC_REQUEST, id: crypto.randomUUID() }),
    });
  }

  /** HEAD (no hook) or GET (asks blob.get) of a blob linked into the repository. */
  async statBlob(repository: string, digest: Digest, request: RequestInfo, forDownload: boolean): Promise<BlobInfo> {
    const blob = await this.blobs.stat(repository, digest);
    await this.index.touch(digest);
    if (forDownload) await this.ask({ hook: "blob.get", repository, digest: formatDigest(digest), request });
    return blob;
  }

  async deleteBlob(repository: string, digest: Digest, request: RequestInfo): Promise<void> {
    this.assertDeleteEnabled();
    const blob = await this.blobs.stat(repository, digest);
    await this.ask({ hook: "blob.delete", repository, digest: formatDigest(digest), request });
    await this.repositoryLocks.exclusive(repository, () => this.blobs.unlink(repository, digest));
    await this.index.blobUnlinked(repository, digest);
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
    // held until the index knows the blob: GC cannot take it between the move and the record
    const size = await this.blobLocks.shared(formatDigest(digest), async () => {
      const stored = await this.uploads.complete(repository, id, digest, body);
      await this.index.blobLinked(repository, digest, stored);
      return stored;
    });
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
    await this.ask({ hook: "blob.mount", repository, digest: formatDigest(digest), request });
    const size = await this.blobLocks.shared(formatDigest(digest), async () => {
      const stored = await this.blobs.dataSize(digest);
      if (stored === null) return null;
      await this.blobs.link(repository, digest);
      await this.index.blobLinked(repository, digest, stored);
      return stored;
    });
    if (size === null) return false;
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
    // The blobs it names are held from their check to the index record (GC waits), and the
    // repository shared with other pushes, exclusive of blob deletes: the blobs checked stay linked.
    const parsed = parseManifest(bytes, contentType);
    const manifest = await this.blobLocks.sharedAll(referencedBlobs(parsed), () =>
      this.repositoryLocks.shared(repository, () => this.prepareAndStore(repository, reference, bytes, contentType, parsed, request)),
    );
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
    parsed: ParsedManifest,
    request: RequestInfo,
  ): Promise<PreparedManifest> {
    const manifest = await this.manifests.prepare(repository, reference, bytes, contentType, parsed);
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
    const facts = await factsOfPush(this.driver, manifest);
    const scope = { repository, digest: facts.digest, tag: tag ?? null };
    await this.index.change(scope, this.tree, () => this.manifests.store(manifest), (tx, _, now) => this.index.manifestPut(tx, facts, tag ?? null, request.actor, now));
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
    if (isPull) this.index.pulled(repository, manifest.digest);
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
      const { tag } = reference;
      await this.repositoryLocks.shared(repository, () =>
        this.index.change({ repository, digest: null, tag }, this.tree, () => this.manifests.deleteTag(repository, tag), (tx, _, now) =>
          this.index.tagDeleted(tx, repository, tag, request.actor, now),
        ),
      );
      await this.announce("delete", manifestTarget(repository, digest, "", 0, reference.tag), request);
      return;
    }
    const existing = await this.manifests.get(repository, reference);
    // the first check of a repository against the tree takes its lock exclusively: not under our shared hold
    await this.listings.tags(repository);
    await this.ask({ hook: "manifest.delete", repository, digest: formatDigest(existing.digest), mediaType: existing.mediaType, request });
    await this.repositoryLocks.shared(repository, () =>
      this.index.change({ repository, digest: formatDigest(existing.digest), tag: null }, this.tree, () => this.manifests.delete(repository, reference.digest), (tx, _, now) =>
        this.index.manifestDeleted(tx, repository, existing.digest, request.actor, now),
      ),
    );
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
    return this.listings.referrers(repository, subject) ?? this.referrers.list(repository, subject);
  }

  /** Settles interrupted changes; builds the index in the background when it never was (see listings.ts). */
  async start(options: { onBuilt?: (error: unknown) => void } = {}): Promise<{ recovered: number; built: Promise<void> }> {
    const started = await this.listings.start(options.onBuilt);
    const swept = started.built.then(() => this.listings.sweep()).then((names) => names.forEach((name) => this.catalog.add(name)));
    return { ...started, built: swept };
  }

  /** Builds the metadata index from the tree (`berth index rebuild`). */
  rebuildIndex(progress?: (report: RebuildProgress) => void): Promise<RebuildProgress> {
    return this.listings.rebuild(progress);
  }

  /** One garbage-collection run now (waits for a run in progress first); see src/gc/collector.ts. */
  collectGarbage(options: GcOptions = {}): Promise<GcReport> {
    return this.collector.run(options);
  }

  /** The last GC runs and the blobs waiting for review. */
  gcStatus(): Promise<GcStatus> {
    return gcStatus(this.index);
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
