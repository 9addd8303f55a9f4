/**
 * The facts the read API and plugins see (src/metadata/reads.ts and usage.ts), sorted and paged:
 * repositories from the catalog (so the list matches /v2/_catalog), each with what the index
 * knows of it; tags and manifests once the repository was checked against the tree
 * (listings.ts), and a manifest's layers and children from its own bytes.
 */
import type { ManifestDetails, Referrer, RepositoryFacts, TagFacts, UsageFacts } from "../hooks/types.ts";
import type { MetadataIndex } from "../metadata/index.ts";
import { allSizes, indexedManifest, pushTimes, repositorySummaries, tagSummaries, totalSizes } from "../metadata/reads.ts";
import { usage } from "../metadata/usage.ts";
import { type Digest, formatDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { Catalog } from "./catalog.ts";
import type { Listings } from "./listings.ts";
import type { ManifestStore } from "./manifests.ts";
import { compareBytes, compareTags } from "./sorted.ts";

export type RepositorySort = "name" | "pushed" | "size";
export type TagSort = "name" | "pushed";

export interface FactsRequest<Sort extends string> {
  /** keeps names containing this (case-insensitive); "" keeps all */
  q: string;
  sort: Sort;
  /** 1-based */
  page: number;
  perPage: number;
}

export interface FactsPage<T> {
  items: T[];
  /** how many match, over every page */
  total: number;
}

export interface FactReaderDeps {
  index: MetadataIndex;
  catalog: Catalog;
  listings: Listings;
  manifests: ManifestStore;
  referrers: (repository: string, subject: Digest) => Promise<Descriptor[]>;
}

function matching<T extends { name: string }>(items: T[], q: string): T[] {
  const needle = q.toLowerCase();
  return needle === "" ? items : items.filter((item) => item.name.toLowerCase().includes(needle));
}

function pageOf<T>(sorted: readonly T[], page: number, perPage: number): T[] {
  return sorted.slice((page - 1) * perPage, page * perPage);
}

/** Largest (newest) first; what has no value last. */
function descending(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return b - a;
}

export class FactReader {
  constructor(private readonly deps: FactReaderDeps) {}

  /** Repositories in the catalog that `visible` keeps (the caller's pull rights), sorted, one page. */
  async repositories(request: FactsRequest<RepositorySort>, visible?: (name: string) => boolean): Promise<FactsPage<RepositoryFacts>> {
    const sql = this.deps.index.database.sql;
    let names = matching((await this.deps.catalog.all()).map((name) => ({ name })), request.q).map((entry) => entry.name);
    if (visible) names = names.filter(visible);
    if (request.sort !== "name") {
      const keys = request.sort === "pushed" ? await pushTimes(sql) : await allSizes(sql);
      names = [...names].sort((a, b) => descending(keys.get(a) ?? null, keys.get(b) ?? null) || compareBytes(a, b));
    }
    return { items: await repositorySummaries(sql, pageOf(names, request.page, request.perPage)), total: names.length };
  }

  /** @throws RegistryError NAME_UNKNOWN */
  async repository(name: string): Promise<RepositoryFacts> {
    await this.assertExists(name);
    const [facts] = await repositorySummaries(this.deps.index.database.sql, [name]);
    if (!facts) throw unknownRepository(name);
    return facts;
  }

  /** @throws RegistryError NAME_UNKNOWN */
  async tags(name: string, request: FactsRequest<TagSort>): Promise<FactsPage<TagFacts>> {
    await this.assertExists(name);
    await this.verified(name);
    const tags = matching(await tagSummaries(this.deps.index.database.sql, name), request.q);
    const byName = (a: TagFacts, b: TagFacts) => compareTags(a.name, b.name);
    const sorted = tags.sort(request.sort === "pushed" ? (a, b) => b.updatedMs - a.updatedMs || byName(a, b) : byName);
    const items = pageOf(sorted, request.page, request.perPage).map(({ updatedMs: _, ...facts }) => facts);
    return { items, total: sorted.length };
  }

  /** @throws RegistryError NAME_UNKNOWN, MANIFEST_UNKNOWN */
  async manifest(name: string, digest: Digest): Promise<ManifestDetails> {
    await this.assertExists(name);
    const stored = await this.deps.manifests.get(name, { digest });
    await this.verified(name);
    const sql = this.deps.index.database.sql;
    const d = formatDigest(digest);
    const indexed = await indexedManifest(sql, name, d);
    const { parsed } = stored;
    const [config, ...layers] = parsed.blobs; // an image's config comes first; an index has none
    const children = await totalSizes(sql, name, parsed.manifests.map((child) => child.digest));
    const manifests = parsed.manifests.map((child) => ({
      digest: child.digest,
      mediaType: child.mediaType,
      size: child.size,
      platform: child.platform?.os && child.platform.architecture
        ? { os: child.platform.os, architecture: child.platform.architecture, ...(child.platform.variant ? { variant: child.platform.variant } : {}) }
        : null,
      totalSize: children.get(child.digest) ?? null,
    }));
    const subject = parsed.subject ? { digest: parsed.subject.digest, mediaType: parsed.subject.mediaType, size: parsed.subject.size } : null;
    return {
      repository: name,
      digest: d,
      mediaType: stored.mediaType,
      artifactType: parsed.artifactType ?? null,
      size: stored.bytes.byteLength,
      totalSize: indexed?.totalSize ?? null,
      config: config ? blobEntry(config) : null,
      layers: layers.map(blobEntry),
      manifests,
      subject,
      platforms: indexed?.platforms ?? manifests.flatMap((child) => (child.platform ? [child.platform] : [])),
      labels: indexed?.labels ?? {},
      annotations: parsed.annotations ?? {},
      created: indexed?.created ?? null,
      tags: (indexed?.tags ?? []).sort(compareTags),
      referrers: (await this.deps.referrers(name, digest)).map(referrer),
      indexes: indexed?.indexes ?? [],
      pushedAt: indexed?.pushedAt ?? null,
      pulledAt: indexed?.pulledAt ?? null,
      pullCount: indexed?.pullCount ?? 0,
    };
  }

  usage(): Promise<UsageFacts> {
    return usage(this.deps.index.database.sql);
  }

  /** The index agrees with the tree for this repository (checked once per process). */
  private async verified(name: string): Promise<void> {
    if (this.deps.listings.isBuilt) await this.deps.listings.verify(name);
  }

  private async assertExists(name: string): Promise<void> {
    if (!(await this.deps.manifests.repositoryExists(name))) throw unknownRepository(name);
  }
}

/** NAME_UNKNOWN for a repository with no manifests. */
export function unknownRepository(name: string): RegistryError {
  return new RegistryError("NAME_UNKNOWN", { message: `Repository ${name} is not known to this registry`, detail: { name } });
}

function blobEntry(descriptor: Descriptor): { digest: string; mediaType: string; size: number; urls?: string[] } {
  const entry = { digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size };
  return descriptor.urls?.length ? { ...entry, urls: descriptor.urls } : entry;
}

function referrer(descriptor: Descriptor): Referrer {
  return {
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    artifactType: descriptor.artifactType ?? null,
    size: descriptor.size,
    annotations: descriptor.annotations ?? {},
  };
}
