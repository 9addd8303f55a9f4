/** The metadata index's facts as the plugin API (src/hooks/types.ts) and GET /api/v1/* give them. */

/** One manifest of a repository as a listing of all of them gives it. */
export interface ManifestSummary {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  /** the manifest this one refers to (OCI referrers: signatures, SBOMs) */
  subject: string | null;
  size: number;
  totalSize: number;
  tags: string[];
  /** indexes in the repository that list it */
  indexes: string[];
  pushedAt: string;
  pulledAt: string | null;
  pullCount: number;
}

// The facts of the metadata index, as plugins and GET /api/v1/* see them (docs/api.md has the
// JSON, whose names are these in snake_case). Sizes are bytes; times ISO 8601 strings (UTC).

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface RepositoryFacts {
  name: string;
  tags: number;
  manifests: number;
  /** bytes of the distinct blobs its manifests reference: the manifests themselves, configs and layers, each digest once */
  size: number;
  /** the last manifest push; null when the index does not know the repository yet (its first build) */
  pushedAt: string | null;
  /** the last pull of any of its manifests; null when never pulled */
  pulledAt: string | null;
}

export interface TagFacts {
  name: string;
  digest: string;
  mediaType: string;
  /** the manifest's bytes, its config and layers (an index: its bytes and its child manifests' bytes) */
  size: number;
  platforms: Platform[];
  /** when the tag was last pointed at this digest */
  pushedAt: string;
  /** the manifest's last pull and pull count (by this tag, another, or its digest) */
  pulledAt: string | null;
  pullCount: number;
}

/** A blob a manifest names (its config or a layer). */
export interface BlobEntry {
  digest: string;
  mediaType: string;
  size: number;
  /** a foreign layer's URLs (not stored here) */
  urls?: string[];
}

/** A manifest an index names. */
export interface ChildManifest {
  digest: string;
  mediaType: string;
  size: number;
  platform: Platform | null;
  /** its total size as the index knows it; null when it is not indexed */
  totalSize: number | null;
}

export interface Referrer {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  annotations: Record<string, string>;
}

export interface ManifestDetails {
  repository: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  /** the manifest's own bytes */
  size: number;
  /** its bytes, config and layers (an index: its bytes and its child manifests' bytes); null before the index knows it */
  totalSize: number | null;
  config: BlobEntry | null;
  layers: BlobEntry[];
  /** an index's children */
  manifests: ChildManifest[];
  subject: { digest: string; mediaType: string; size: number } | null;
  platforms: Platform[];
  /** the image config's labels */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** the image config's `created` */
  created: string | null;
  /** tags pointing at it, in the spec's tag order */
  tags: string[];
  /** manifests whose subject it is (OCI referrers), by digest */
  referrers: Referrer[];
  /** indexes in the repository that list it */
  indexes: string[];
  pushedAt: string | null;
  pulledAt: string | null;
  pullCount: number;
}

/** Bytes referenced by one repository or namespace: `unique` ones nothing outside it references. */
export interface UsageEntry {
  name: string;
  size: number;
  unique: number;
  shared: number;
}

export interface UsageFacts {
  /** every blob the index knows (manifests, configs, layers, uploads, those waiting for GC) */
  storedBytes: number;
  storedBlobs: number;
  /** blobs some manifest references */
  referencedBytes: number;
  /** blobs in the GC queue (no reference; deleted once their review time passes) */
  gcWaitingBytes: number;
  gcWaitingBlobs: number;
  /** upload sessions started and not yet completed, cancelled or purged */
  uploadsInProgress: number;
  /** by size, largest first */
  repositories: UsageEntry[];
  /** by the first path component of the names (`team` for `team/app`; `alpine` for `alpine`) */
  namespaces: Array<UsageEntry & { repositories: number }>;
}
