/**
 * The registry's one facade, above storage and below HTTP: what may be read, written and
 * deleted in a repository, which before-hooks are asked and which events follow. The API layer
 * and the plugin host call only this; its stores and the driver stay private.
 */
import { type Digest, parseDigest } from "../oci/digest.ts";
import { GarbageCollector, type GcOptions, type GcReport } from "../gc/collector.ts";
import { type GcStatus, gcStatus } from "../gc/status.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { RebuildProgress } from "../metadata/rebuild.ts";
import { Listings } from "./listings.ts";
import { ManifestOperations } from "./manifest-operations.ts";
import { RegistryEvents } from "./registry-events.ts";
import type { HookBus } from "../hooks/bus.ts";
import type { EventSource } from "../hooks/events.ts";
import type { ManifestDetails, RepositoryFacts, RequestInfo, TagFacts, UsageFacts } from "../hooks/types.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { type BlobInfo, BlobStore } from "./blobs.ts";
import { BlobOperations } from "./blob-operations.ts";
import { Catalog } from "./catalog.ts";
import { ReadOnlyMaintenance, RegistryError } from "./errors.ts";
import { HashPool } from "./hash-pool.ts";
import { ManifestStore, type PreparedManifest, type Reference, type StoredManifest } from "./manifests.ts";
import type { MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { BlobLocks } from "./blob-locks.ts";
import type { Cluster } from "../cluster/cluster.ts";
import { ClusterGc } from "../gc/cluster-runs.ts";
import { ReferrersIndex } from "./referrers.ts";
import { IndexReads } from "./index-reads.ts";
import { FactReader, type FactsPage, type FactsRequest, type RepositorySort, type TagSort, unknownRepository } from "./repository-facts.ts";
import { type RepositoryDeleteReport, RepositoryRemoval } from "./repository-delete.ts";
import { treeReader } from "./tree-reader.ts";
import { RepositoryLock } from "./repository-lock.ts";
import { compareTags, type Page, type PageRequest, pageOf } from "./sorted.ts";
import { type ContentRange, UploadStore } from "./uploads.ts";
import type { HealthReport, PutManifestOptions, RegistryOptions } from "./options.ts";

// The facade's vocabulary: callers import these from here, never from the stores.
export type { BlobInfo, ContentRange, HealthReport, RegistryOptions, GcOptions, GcReport, GcStatus, Page, PageRequest, PreparedManifest, PutManifestOptions, Reference, StoredManifest };
export type { FactsPage, FactsRequest, ManifestDetails, RepositoryDeleteReport, RepositoryFacts, RepositorySort, TagFacts, TagSort, UsageFacts };

/** Who GC's manifest deletes are by, in events and tag history. */
const GC_REQUEST: RequestInfo = { id: "", addr: "", host: "", method: "DELETE", useragent: "", actor: "berth:gc" };

export class Registry {
  private readonly blobs: BlobStore;
  private readonly manifests: ManifestStore;
  private readonly referrers: ReferrersIndex;
  private readonly catalog: Catalog;
  private readonly repositoryLocks = new RepositoryLock();
  private readonly blobLocks: BlobLocks;
  private readonly tree: TreeReader;
  private readonly listings: Listings;
  private readonly gcRuns: ClusterGc;
  private readonly events: RegistryEvents;
  private readonly manifestOperations: ManifestOperations;
  private readonly facts: FactReader;
  /** manifest lists, recent pulls and byte counts (retention, quotas, backup, the web UI) */
  readonly indexReads: IndexReads;
  private readonly removal: RepositoryRemoval;
  private readonly blobOperations: BlobOperations;
  private readonly gcObservers: Array<(report: GcReport) => void> = [];
  private maintenance = false;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: RegistryOptions,
    hooks: HookBus,
    source: EventSource,
    private readonly index: MetadataIndex,
    /** the replicas sharing the metadata (one process: a cluster of one) */
    private readonly cluster: Cluster | null = null,
  ) {
    this.blobLocks = new BlobLocks(cluster?.blobClaims ?? null);
    this.events = new RegistryEvents(hooks, source);
    this.blobs = new BlobStore(driver);
    this.referrers = new ReferrersIndex(driver);
    this.tree = treeReader(driver);
    this.listings = new Listings(index, this.tree, this.repositoryLocks, options.gcDelayMs);
    this.manifests = new ManifestStore(driver, this.blobs, this.referrers, (repository) => this.listings.tags(repository));
    this.catalog = new Catalog(driver, () => this.listings.repositories());
    const { manifests, catalog, tree, blobLocks, repositoryLocks, listings } = this;
    this.manifestOperations = new ManifestOperations({ driver, manifests, catalog, index, tree, blobLocks, repositoryLocks }, this.events);
    this.indexReads = new IndexReads(index, (repository) => this.assertRepositoryExists(repository));
    this.facts = new FactReader({ index, catalog, listings, manifests, referrers: (repository, subject) => this.referrersOf(repository, subject) });
    const uploads = new UploadStore(driver, this.blobs, new HashPool());
    this.blobOperations = new BlobOperations({ driver, blobs: this.blobs, uploads, index, tree, blobLocks, repositoryLocks }, this.events);
    this.removal = new RepositoryRemoval({ driver, index, tree, manifests, catalog, listings, repositoryLocks }, this.events);
    const deleteForGc = (repository: string, digest: string) => this.deleteManifest(repository, { digest: parseDigest(digest) }, { ...GC_REQUEST, id: crypto.randomUUID() });
    const collector = new GarbageCollector({ driver, index, tree, blobLocks, untaggedMs: options.gcUntaggedMs ?? null, deleteManifest: deleteForGc });
    this.gcRuns = new ClusterGc(collector, cluster);
  }

  /** HEAD (no hook) or GET (asks blob.get) of a blob linked into the repository. */
  statBlob(repository: string, digest: Digest, request: RequestInfo, forDownload: boolean): Promise<BlobInfo> {
    return this.blobOperations.stat(repository, digest, request, forDownload);
  }

  /** Whether the repository links the blob (no hook, no pull): the pull-through cache's miss test. */
  hasBlob(repository: string, digest: Digest): Promise<boolean> {
    return this.blobs.isLinked(repository, digest);
  }

  /** Whether the repository has manifests (is more than a name). */
  hasRepository(repository: string): Promise<boolean> {
    return this.manifests.repositoryExists(repository);
  }

  async deleteBlob(repository: string, digest: Digest, request: RequestInfo): Promise<void> {
    this.assertDeleteEnabled();
    this.assertWritable();
    await this.blobOperations.delete(repository, digest, request);
  }

  async startUpload(repository: string): Promise<string> {
    this.assertWritable();
    return this.blobOperations.startUpload(repository);
  }

  uploadOffset(repository: string, id: string): Promise<number> {
    return this.blobOperations.uploadOffset(repository, id);
  }

  appendUpload(repository: string, id: string, body: ReadableStream<Uint8Array> | null, range: ContentRange | null): Promise<number> {
    return this.blobOperations.appendUpload(repository, id, body, range);
  }

  async completeUpload(repository: string, id: string, digest: Digest, body: ReadableStream<Uint8Array> | null, request: RequestInfo): Promise<void> {
    this.assertWritable();
    return this.blobOperations.completeUpload(repository, id, digest, body, request);
  }

  cancelUpload(repository: string, id: string): Promise<void> {
    return this.blobOperations.cancelUpload(repository, id);
  }

  /**
   * Links a blob from `from` into `repository` when `from` has it.
   * @returns false when the source does not have it (the caller then starts a normal upload)
   */
  async mountBlob(repository: string, digest: Digest, from: string, request: RequestInfo): Promise<boolean> {
    this.assertWritable();
    return this.blobOperations.mount(repository, digest, from, request);
  }

  /** Validates, stores and indexes a manifest; asks manifest.put, emits push (manifest-operations.ts); `options` are the proxy's. */
  async putManifest(repository: string, reference: Reference, bytes: Uint8Array, contentType: string, request: RequestInfo, options: PutManifestOptions = {}): Promise<PreparedManifest> {
    this.assertWritable();
    return this.manifestOperations.put(repository, reference, bytes, contentType, request, options);
  }

  /** HEAD asks manifest.get too (it reveals the digest) but only a GET is a pull event. */
  getManifest(repository: string, reference: Reference, request: RequestInfo, isPull: boolean): Promise<StoredManifest> {
    return this.manifestOperations.get(repository, reference, request, isPull);
  }

  /** A manifest as stored, without asking hooks or emitting a pull (for plugins, the UI, GC). */
  readManifest(repository: string, reference: Reference): Promise<StoredManifest> {
    return this.manifests.get(repository, reference);
  }

  /** Deletes a tag, or a manifest and every tag naming it; asks tag.delete or manifest.delete, emits delete. */
  async deleteManifest(repository: string, reference: Reference, request: RequestInfo, options: { ifDigest?: string } = {}): Promise<void> {
    this.assertDeleteEnabled();
    this.assertWritable();
    await this.manifestOperations.delete(repository, reference, request, options.ifDigest);
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

  /** A page of repositories with their facts; `visible` (the caller's pull rights) filters first (repository-facts.ts). */
  repositoryFacts(request: FactsRequest<RepositorySort>, visible?: (name: string) => boolean): Promise<FactsPage<RepositoryFacts>> {
    return this.facts.repositories(request, visible);
  }

  /** @throws RegistryError NAME_UNKNOWN */
  repositoryFactsOf(repository: string): Promise<RepositoryFacts> {
    return this.facts.repository(repository);
  }

  /** @throws RegistryError NAME_UNKNOWN */
  tagFacts(repository: string, request: FactsRequest<TagSort>): Promise<FactsPage<TagFacts>> {
    return this.facts.tags(repository, request);
  }

  /** @throws RegistryError NAME_UNKNOWN, MANIFEST_UNKNOWN */
  manifestFacts(repository: string, digest: Digest): Promise<ManifestDetails> {
    return this.facts.manifest(repository, digest);
  }

  usage(): Promise<UsageFacts> {
    return this.facts.usage();
  }

  /** Deletes a whole repository; asks manifest.delete for each manifest, emits delete for each (repository-delete.ts). */
  async deleteRepository(repository: string, request: RequestInfo): Promise<RepositoryDeleteReport> {
    this.assertDeleteEnabled();
    this.assertWritable();
    return this.removal.delete(repository, request);
  }

  referrersOf(repository: string, subject: Digest): Promise<Descriptor[]> {
    return this.listings.referrers(repository, subject) ?? this.referrers.list(repository, subject);
  }

  /** Settles interrupted changes; builds the index in the background when it never was (see listings.ts). */
  async start(options: { onBuilt?: (error: unknown) => void } = {}): Promise<{ recovered: number; built: Promise<void> }> {
    // at start nothing of this process is in flight: what its name left (a crash) is settled too
    const started = await this.listings.start(options.onBuilt, await this.abandonedOwners({ ownToo: true }));
    const swept = started.built.then(() => this.listings.sweep()).then((names) => names.forEach((name) => this.catalog.add(name)));
    return { ...started, built: swept };
  }

  /**
   * With replicas: forgets what this one cached about tags and repositories (another may have
   * changed them). Run every `metadata.cache_ttl`: the bound on how long a change made on
   * another replica goes unseen here.
   */
  forgetCached(): void {
    this.manifests.forgetCached();
    this.catalog.forget();
  }

  /** With replicas: settles what replicas that died left half done. @returns how many changes */
  async settleAbandoned(): Promise<number> {
    if (!this.cluster?.shared) return 0;
    return this.listings.settleAbandoned(await this.abandonedOwners());
  }

  private abandonedOwners(options: { ownToo?: boolean } = {}): Promise<(owner: string) => boolean> {
    return this.cluster ? this.cluster.abandoned(options) : Promise.resolve(() => true);
  }

  /** Builds the metadata index from the tree (`berth index rebuild`). */
  rebuildIndex(progress?: (report: RebuildProgress) => void): Promise<RebuildProgress> {
    return this.listings.rebuild(progress);
  }

  /** One garbage-collection run now (waits for a run in progress first); see src/gc/collector.ts. */
  async collectGarbage(options: GcOptions = {}): Promise<GcReport> {
    if (!options.dryRun) this.assertWritable();
    const report = await this.gcRuns.run(options);
    for (const observe of this.gcObservers) observe(report);
    return report;
  }

  /**
   * Keeps GC from running until the returned release is called (after a run in progress ends):
   * here, and with replicas on every one of them (it holds their GC lease).
   */
  pauseGc(): Promise<() => void> {
    return this.gcRuns.hold();
  }

  /** Told of every finished GC run (metrics, audit). */
  onGcRun(observe: (report: GcReport) => void): void {
    this.gcObservers.push(observe);
  }

  /** Read-only for maintenance: pushes, deletes and GC are refused (ReadOnlyMaintenance); pulls go on. */
  get readOnly(): boolean {
    return this.maintenance;
  }

  setReadOnly(on: boolean): void {
    this.maintenance = on;
  }

  /** The last GC runs and the blobs waiting for review. */
  gcStatus(): Promise<GcStatus> {
    return gcStatus(this.index);
  }

  /** Removes upload sessions started before `cutoff` in every repository. */
  purgeUploads(cutoff: Date): Promise<number> {
    return this.blobOperations.purgeUploads(cutoff);
  }

  /** The storage's checks (see StorageDriver.health); "ok" only when every check is. */
  async health(): Promise<HealthReport> {
    const checks = await this.driver.health();
    const ok = Object.values(checks).every((result) => result === "ok");
    return { status: ok ? "ok" : "unhealthy", mode: this.maintenance ? "read-only" : "read-write", checks };
  }

  private async assertRepositoryExists(repository: string): Promise<void> {
    if (!(await this.manifests.repositoryExists(repository))) throw unknownRepository(repository);
  }

  private assertWritable(): void {
    if (this.maintenance) throw new ReadOnlyMaintenance();
  }

  private assertDeleteEnabled(): void {
    if (!this.options.deleteEnabled) {
      throw new RegistryError("UNSUPPORTED", {
        message: "Deletes are disabled on this registry (storage.delete = false)",
      });
    }
  }
}
