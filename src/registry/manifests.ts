/**
 * Manifests and tags of a repository. Manifest bytes are stored as blobs, exactly as
 * received; a revision link puts them in the repository and a tag link names them.
 */
import { RegistryError } from "../oci/errors.ts";
import { type Digest, digestOf, formatDigest, parseDigest } from "../oci/digest.ts";
import { isForeignLayer, type ManifestMediaType } from "../oci/media-types.ts";
import { type ParsedManifest, parseManifest } from "../oci/manifest.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import type { BlobStore } from "./blobs.ts";
import { KeyedLock } from "./keyed-lock.ts";
import { readManifestBlob } from "./manifest-bytes.ts";
import { ManifestCache, ReferenceCache } from "./manifest-cache.ts";
import { TagLists } from "./tag-lists.ts";
import { exists, readLink, writeLink } from "./links.ts";
import type { PutManifestOptions } from "./options.ts";
import type { ReferrersIndex } from "./referrers.ts";

export interface StoredManifest {
  digest: Digest;
  bytes: Uint8Array;
  mediaType: ManifestMediaType;
  parsed: ParsedManifest;
}

export interface PreparedManifest {
  repository: string;
  reference: Reference;
  bytes: Uint8Array;
  digest: Digest;
  parsed: ParsedManifest;
  /** the stored size of each blob the manifest references */
  blobSizes: ReadonlyMap<string, number>;
}

/**
 * The most descriptors (config, layers, index entries, subject) a pushed manifest may list.
 * Real ones list a few hundred at most (an image at overlayfs' 128-layer limit, a multi-platform
 * index with attestations); a 4 MiB manifest of minimal descriptors could list ~30,000, each
 * costing storage lookups. 10,000 leaves twenty times the largest real need and bounds that work.
 * Only pushes are checked: manifests already stored (say by Distribution) are still served.
 */
export const MAX_DESCRIPTORS = 10_000;

/** A reference is a tag or a digest; callers have validated its grammar. */
export type Reference = { tag: string } | { digest: Digest };

export class ManifestStore {
  private readonly cache = new ManifestCache<StoredManifest>();
  private readonly references = new ReferenceCache<Digest>();
  private readonly tagLists: TagLists;
  // A PUT and a DELETE of the same tag must not interleave (the tag would vanish after a 201).
  private readonly tagLocks = new KeyedLock();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly referrers: ReferrersIndex,
    /** tag names from the metadata index, or null while it is not built (then the tree) */
    indexedTags: (repository: string) => Promise<string[]> | null = () => null,
  ) {
    this.tagLists = new TagLists(driver, indexedTags);
  }

  /** Forgets which tags name which digest and which revisions exist (manifests by digest stay: they never change). */
  forgetCached(): void {
    this.references.clear();
    this.tagLists.forgetAll();
  }

  /**
   * Validates a manifest without storing anything: grammar, digest, referenced content.
   * @throws RegistryError MANIFEST_INVALID, DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN
   */
  async prepare(repository: string, reference: Reference, bytes: Uint8Array, contentType: string, parsedAlready?: ParsedManifest, options: PutManifestOptions = {}): Promise<PreparedManifest> {
    const parsed = parsedAlready ?? parseManifest(bytes, contentType);
    assertDescriptorCount(parsed);
    const algorithm = "digest" in reference ? reference.digest.algorithm : "sha256";
    const digest = digestOf(bytes, algorithm);
    if ("digest" in reference && reference.digest.hex !== digest.hex) {
      throw new RegistryError("DIGEST_INVALID", {
        message: `Manifest digest ${formatDigest(digest)} does not match ${formatDigest(reference.digest)}`,
        detail: { digest: formatDigest(reference.digest) },
      });
    }
    const blobSizes = await this.assertReferencesPresent(repository, parsed, options.childrenMayBeAbsent === true);
    return { repository, reference, bytes, digest, parsed, blobSizes };
  }

  /** Stores a prepared manifest, then points the tag at it; durable when it resolves. */
  async store(manifest: PreparedManifest): Promise<void> {
    const { repository, reference, bytes, digest, parsed } = manifest;
    await this.storeBytes(digest, bytes);
    await writeLink(this.driver, paths.manifestRevisionLink(repository, digest), digest);
    if (parsed.subject) await this.referrers.add(repository, parseDigest(parsed.subject.digest), digest, bytes.byteLength, parsed);
    if ("tag" in reference) await this.tag(repository, reference.tag, digest);
  }

  /** @throws RegistryError MANIFEST_UNKNOWN */
  get(repository: string, reference: Reference): Promise<StoredManifest> {
    const cached = this.cached(repository, reference);
    return cached ? Promise.resolve(cached) : this.read(repository, reference);
  }

  /**
   * The manifest when the tag (or digest), its revision link and its bytes are all in memory,
   * else undefined: a repeated pull answers without a promise or a file read.
   */
  cached(repository: string, reference: Reference): StoredManifest | undefined {
    const digest = "digest" in reference ? reference.digest : this.references.tag(repository, reference.tag);
    if (digest === undefined) return undefined;
    const key = formatDigest(digest);
    return this.references.hasRevision(repository, key) ? this.cache.get(key) : undefined;
  }

  private async read(repository: string, reference: Reference): Promise<StoredManifest> {
    const digest = await this.resolve(repository, reference);
    const version = this.references.version;
    if (!(await exists(this.driver, paths.manifestRevisionLink(repository, digest)))) throw this.unknown(reference);
    this.references.rememberRevision(version, repository, formatDigest(digest));
    return (await this.load(digest)) ?? this.missing(reference);
  }

  /** The digest a reference names in this repository. @throws RegistryError MANIFEST_UNKNOWN */
  async resolve(repository: string, reference: Reference): Promise<Digest> {
    if ("digest" in reference) return reference.digest;
    const { tag } = reference;
    const cached = this.references.tag(repository, tag);
    if (cached) return cached;
    const version = this.references.version;
    const digest = await readLink(this.driver, paths.tagCurrentLink(repository, tag));
    if (!digest) throw this.unknown(reference);
    this.references.rememberTag(version, repository, tag, digest);
    return digest;
  }

  /** Deletes a manifest and every tag pointing at it. @throws RegistryError MANIFEST_UNKNOWN */
  async delete(repository: string, digest: Digest): Promise<StoredManifest | null> {
    if (!(await exists(this.driver, paths.manifestRevisionLink(repository, digest)))) {
      throw this.unknown({ digest });
    }
    // a copy: removing tags edits the cached list while we walk it
    for (const tag of [...(await this.tags(repository))]) {
      await this.tagLocks.run(`${repository}:${tag}`, async () => {
        const current = await readLink(this.driver, paths.tagCurrentLink(repository, tag));
        if (current && formatDigest(current) === formatDigest(digest)) await this.removeTagDir(repository, tag);
      });
    }
    const stored = await this.load(digest);
    // the referrer entry goes first: a crash between the two leaves no referrer to a ghost
    if (stored?.parsed.subject) await this.referrers.remove(repository, parseDigest(stored.parsed.subject.digest), digest);
    try {
      await this.driver.delete(paths.manifestRevisionDir(repository, digest));
    } finally {
      this.references.revisionRemoved(repository, formatDigest(digest));
    }
    return stored;
  }

  /**
   * Removes a tag only; the manifest stays reachable by digest.
   * @throws RegistryError MANIFEST_UNKNOWN when there is no such tag, or it no longer points at `expected`
   */
  async deleteTag(repository: string, tag: string, expected?: string): Promise<Digest> {
    return this.tagLocks.run(`${repository}:${tag}`, async () => {
      const digest = await readLink(this.driver, paths.tagCurrentLink(repository, tag));
      if (!digest) throw this.unknown({ tag });
      if (expected !== undefined && formatDigest(digest) !== expected) {
        throw new RegistryError("MANIFEST_UNKNOWN", { message: `Tag ${tag} now points at ${formatDigest(digest)}, not ${expected}: left as it is`, detail: { tag } });
      }
      await this.removeTagDir(repository, tag);
      return digest;
    });
  }

  /** Removes a tag directory that a crash left without its current link (no tag, no listing). */
  async clearGhostTag(repository: string, tag: string): Promise<void> {
    await this.tagLocks.run(`${repository}:${tag}`, async () => {
      const linked = await exists(this.driver, paths.tagCurrentLink(repository, tag));
      if (!linked && (await exists(this.driver, paths.tagDir(repository, tag)))) await this.removeTagDir(repository, tag);
    });
  }

  /** Tag names in the spec's lexical order (case-insensitive, then by byte to be total). */
  tags(repository: string): Promise<readonly string[]> {
    return this.tagLists.list(repository);
  }

  /** The whole tag list as the tags/list answer's JSON (null above `maxTags`), kept per version of the list. */
  tagsJson(repository: string, maxTags: number): Promise<string | null> {
    return this.tagLists.json(repository, maxTags);
  }

  /** Drops the cached tag list of a repository deleted as a whole. */
  forgetRepository(repository: string): void {
    this.tagLists.forget(repository);
    this.references.clear();
  }

  async repositoryExists(repository: string): Promise<boolean> {
    return exists(this.driver, paths.manifestsRoot(repository));
  }

  private async tag(repository: string, tag: string, digest: Digest): Promise<void> {
    await this.tagLocks.run(`${repository}:${tag}`, async () => {
      try {
        await writeLink(this.driver, paths.tagIndexLink(repository, tag, digest), digest);
        await writeLink(this.driver, paths.tagCurrentLink(repository, tag), digest);
      } finally {
        this.references.tagChanged(repository, tag); // a failed write may have replaced the link
      }
      this.tagLists.added(repository, tag);
    });
  }

  /** The current link goes first, so a crash mid-way leaves no half tag that still resolves. */
  private async removeTagDir(repository: string, tag: string): Promise<void> {
    try {
      await this.driver.delete(paths.tagCurrentLink(repository, tag));
    } finally {
      this.references.tagChanged(repository, tag);
    }
    await this.driver.delete(paths.tagDir(repository, tag));
    this.tagLists.removed(repository, tag);
  }

  private async storeBytes(digest: Digest, bytes: Uint8Array): Promise<void> {
    if ((await this.blobs.dataSize(digest)) !== null) return;
    await this.driver.putContent(paths.blobData(digest), bytes, { durable: false }); // synced with its links (writeLink)
  }

  private async load(digest: Digest): Promise<StoredManifest | null> {
    const key = formatDigest(digest);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const found = await readManifestBlob(this.driver, digest);
    if (found === null) return null; // gone, or bytes under a revision link that are not a manifest we serve
    const { bytes, parsed } = found;
    const stored: StoredManifest = { digest, bytes, mediaType: parsed.mediaType, parsed };
    this.cache.set(key, stored);
    return stored;
  }

  /**
   * Each distinct digest is looked up once, however often the manifest lists it.
   * @returns the stored size of each blob referenced
   */
  private async assertReferencesPresent(repository: string, parsed: ParsedManifest, childrenMayBeAbsent: boolean): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const blob of parsed.blobs) {
      if (isForeignLayer(blob.mediaType) && blob.urls?.length) continue;
      if (sizes.has(blob.digest)) continue;
      const digest = parseDigest(blob.digest);
      const size = (await this.blobs.isLinked(repository, digest)) ? await this.blobs.dataSize(digest) : null;
      sizes.set(blob.digest, size ?? -1);
      if (size === null) {
        throw new RegistryError("MANIFEST_BLOB_UNKNOWN", {
          message: `Blob ${blob.digest} referenced by the manifest is not in repository ${repository}; push it first`,
          detail: { digest: blob.digest },
        });
      }
    }
    if (childrenMayBeAbsent) return sizes;
    const checkedManifests = new Set<string>();
    for (const child of parsed.manifests) {
      if (checkedManifests.has(child.digest)) continue;
      checkedManifests.add(child.digest);
      const digest = parseDigest(child.digest);
      if (!(await exists(this.driver, paths.manifestRevisionLink(repository, digest)))) {
        throw new RegistryError("MANIFEST_BLOB_UNKNOWN", {
          message: `Manifest ${child.digest} listed in the index is not in repository ${repository}; push it first`,
          detail: { digest: child.digest },
        });
      }
    }
    return sizes;
  }

  private unknown(reference: Reference): RegistryError {
    const name = "tag" in reference ? reference.tag : formatDigest(reference.digest);
    return new RegistryError("MANIFEST_UNKNOWN", {
      message: `Manifest ${name} is not known to this repository`,
      detail: "tag" in reference ? { tag: reference.tag } : { digest: name },
    });
  }

  private missing(reference: Reference): never {
    throw this.unknown(reference);
  }
}

/** @throws RegistryError MANIFEST_INVALID when the manifest lists more than MAX_DESCRIPTORS descriptors */
function assertDescriptorCount(parsed: ParsedManifest): void {
  const count = parsed.blobs.length + parsed.manifests.length + (parsed.subject ? 1 : 0);
  if (count > MAX_DESCRIPTORS) {
    throw new RegistryError("MANIFEST_INVALID", {
      message: `Manifest lists ${count} descriptors (config, layers, manifests and subject); at most ${MAX_DESCRIPTORS} are accepted`,
      detail: { descriptors: count, limit: MAX_DESCRIPTORS },
    });
  }
}
