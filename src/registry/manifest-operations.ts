/**
 * Manifest pushes, pulls and deletes as the facade runs them: the locks a push holds, the
 * before-hooks asked, the journaled change to the tree and its index record, the events after.
 */
import { digestOf, formatDigest } from "../oci/digest.ts";
import { type ParsedManifest, parseManifest } from "../oci/manifest.ts";
import type { RequestInfo } from "../hooks/types.ts";
import type { MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import type { StorageDriver } from "../storage/driver.ts";
import type { BlobLocks } from "./blob-locks.ts";
import type { Catalog } from "./catalog.ts";
import { manifestTarget } from "./event-targets.ts";
import { factsOfPush, referencedBlobs } from "./indexing.ts";
import type { ManifestStore, PreparedManifest, Reference, StoredManifest } from "./manifests.ts";
import type { PutManifestOptions } from "./options.ts";
import type { RegistryEvents } from "./registry-events.ts";
import type { RepositoryLock } from "./repository-lock.ts";

export interface ManifestOperationsDeps {
  driver: StorageDriver;
  manifests: ManifestStore;
  catalog: Catalog;
  index: MetadataIndex;
  tree: TreeReader;
  blobLocks: BlobLocks;
  repositoryLocks: RepositoryLock;
}

export class ManifestOperations {
  constructor(
    private readonly deps: ManifestOperationsDeps,
    private readonly events: RegistryEvents,
  ) {}

  async put(
    repository: string,
    reference: Reference,
    bytes: Uint8Array,
    contentType: string,
    request: RequestInfo,
    options: PutManifestOptions = {},
  ): Promise<PreparedManifest> {
    // The blobs it names, and its own bytes (a blob GC may be taking: a manifest deleted and
    // pushed again), are held from their check to the index record (GC waits); the repository
    // shared with other pushes, exclusive of blob deletes: the blobs checked stay linked.
    const parsed = parseManifest(bytes, contentType);
    const own = formatDigest(digestOf(bytes, "digest" in reference ? reference.digest.algorithm : "sha256"));
    const manifest = await this.deps.blobLocks.sharedAll([...referencedBlobs(parsed), own], () =>
      this.deps.repositoryLocks.shared(repository, () => this.prepareAndStore(repository, reference, bytes, contentType, parsed, request, options)),
    );
    this.deps.catalog.add(repository);
    const tag = "tag" in reference ? reference.tag : undefined;
    await this.events.announce("push", manifestTarget(repository, manifest.digest, manifest.parsed.mediaType, bytes.byteLength, tag), request);
    return manifest;
  }

  private async prepareAndStore(
    repository: string,
    reference: Reference,
    bytes: Uint8Array,
    contentType: string,
    parsed: ParsedManifest,
    request: RequestInfo,
    options: PutManifestOptions,
  ): Promise<PreparedManifest> {
    const manifest = await this.deps.manifests.prepare(repository, reference, bytes, contentType, parsed, options);
    const tag = "tag" in reference ? reference.tag : undefined;
    if (this.events.wants("manifest.put")) {
      const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
      await this.events.ask({
        hook: "manifest.put",
        repository,
        ...(tag === undefined ? {} : { tag }),
        digest: formatDigest(manifest.digest),
        mediaType: manifest.parsed.mediaType,
        manifest: { bytes: new Uint8Array(bytes), json }, // a copy: what is stored must match the digest
        request,
      });
    }
    const facts = await factsOfPush(this.deps.driver, manifest);
    const scope = { repository, digest: facts.digest, tag: tag ?? null };
    await this.deps.index.change(scope, this.deps.tree, () => this.deps.manifests.store(manifest), (tx, _, now) => this.deps.index.manifestPut(tx, facts, tag ?? null, request.actor, now));
    return manifest;
  }

  /** HEAD asks manifest.get too (it reveals the digest) but only a GET is a pull event. */
  async get(repository: string, reference: Reference, request: RequestInfo, isPull: boolean): Promise<StoredManifest> {
    // the usual pull (in memory, no hook, no listener) awaits nothing and builds no context
    const manifest = this.deps.manifests.cached(repository, reference) ?? (await this.deps.manifests.get(repository, reference));
    const tag = "tag" in reference ? reference.tag : undefined;
    if (this.events.wants("manifest.get")) {
      await this.events.ask({
        hook: "manifest.get",
        repository,
        ...(tag === undefined ? {} : { tag }),
        digest: formatDigest(manifest.digest),
        mediaType: manifest.mediaType,
        request,
      });
    }
    if (!isPull) return manifest;
    this.deps.index.pulled(repository, manifest.digest);
    if (this.events.hears("pull")) await this.events.announce("pull", manifestTarget(repository, manifest.digest, manifest.mediaType, manifest.bytes.byteLength, tag), request);
    return manifest;
  }

  /** `ifDigest`: a tag is deleted only while it points at this digest (checked under its lock) */
  async delete(repository: string, reference: Reference, request: RequestInfo, ifDigest?: string): Promise<void> {
    if ("tag" in reference) {
      const digest = await this.deps.manifests.resolve(repository, reference).catch(async (error: unknown) => {
        await this.deps.manifests.clearGhostTag(repository, reference.tag);
        throw error;
      });
      await this.events.ask({ hook: "tag.delete", repository, tag: reference.tag, digest: formatDigest(digest), request });
      const { tag } = reference;
      await this.deps.repositoryLocks.shared(repository, () =>
        this.deps.index.change({ repository, digest: null, tag }, this.deps.tree, () => this.deps.manifests.deleteTag(repository, tag, ifDigest), (tx, _, now) =>
          this.deps.index.tagDeleted(tx, repository, tag, request.actor, now),
        ),
      );
      await this.events.announce("delete", manifestTarget(repository, digest, "", 0, reference.tag), request);
      return;
    }
    const existing = await this.deps.manifests.get(repository, reference);
    await this.events.ask({ hook: "manifest.delete", repository, digest: formatDigest(existing.digest), mediaType: existing.mediaType, request });
    await this.deps.repositoryLocks.shared(repository, () =>
      this.deps.index.change({ repository, digest: formatDigest(existing.digest), tag: null }, this.deps.tree, () => this.deps.manifests.delete(repository, reference.digest), (tx, _, now) =>
        this.deps.index.manifestDeleted(tx, repository, existing.digest, request.actor, now),
      ),
    );
    await this.events.announce("delete", manifestTarget(repository, existing.digest, existing.mediaType, existing.bytes.byteLength), request);
  }
}
