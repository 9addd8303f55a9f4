/**
 * The wire form of the index's facts (src/hooks/types.ts): the same fields in snake_case, as
 * docs/api.md documents them. Labels and annotations are the images' own keys, kept as they are.
 */
import type { BlobEntry, ChildManifest, ManifestDetails, Referrer, RepositoryFacts, TagFacts, UsageFacts } from "../hooks/types.ts";
import type { RepositoryDeleteReport } from "../registry/registry.ts";

type Json = Record<string, unknown>;

export function repositoryJson(facts: RepositoryFacts): Json {
  return { name: facts.name, tags: facts.tags, manifests: facts.manifests, size: facts.size, pushed_at: facts.pushedAt, pulled_at: facts.pulledAt };
}

export function tagJson(facts: TagFacts): Json {
  return {
    name: facts.name,
    digest: facts.digest,
    media_type: facts.mediaType,
    size: facts.size,
    platforms: facts.platforms,
    pushed_at: facts.pushedAt,
    pulled_at: facts.pulledAt,
    pull_count: facts.pullCount,
  };
}

function blobJson(blob: BlobEntry): Json {
  return { digest: blob.digest, media_type: blob.mediaType, size: blob.size, ...(blob.urls ? { urls: blob.urls } : {}) };
}

function childJson(child: ChildManifest): Json {
  return { digest: child.digest, media_type: child.mediaType, size: child.size, platform: child.platform, total_size: child.totalSize };
}

function referrerJson(referrer: Referrer): Json {
  return { digest: referrer.digest, media_type: referrer.mediaType, artifact_type: referrer.artifactType, size: referrer.size, annotations: referrer.annotations };
}

export function manifestJson(m: ManifestDetails): Json {
  return {
    repository: m.repository,
    digest: m.digest,
    media_type: m.mediaType,
    artifact_type: m.artifactType,
    size: m.size,
    total_size: m.totalSize,
    config: m.config ? blobJson(m.config) : null,
    layers: m.layers.map(blobJson),
    manifests: m.manifests.map(childJson),
    subject: m.subject ? { digest: m.subject.digest, media_type: m.subject.mediaType, size: m.subject.size } : null,
    platforms: m.platforms,
    labels: m.labels,
    annotations: m.annotations,
    created: m.created,
    tags: m.tags,
    referrers: m.referrers.map(referrerJson),
    indexes: m.indexes,
    pushed_at: m.pushedAt,
    pulled_at: m.pulledAt,
    pull_count: m.pullCount,
  };
}

export function usageJson(u: UsageFacts): Json {
  return {
    stored_bytes: u.storedBytes,
    stored_blobs: u.storedBlobs,
    referenced_bytes: u.referencedBytes,
    gc_waiting_bytes: u.gcWaitingBytes,
    gc_waiting_blobs: u.gcWaitingBlobs,
    uploads_in_progress: u.uploadsInProgress,
    repositories: u.repositories,
    namespaces: u.namespaces,
  };
}

export function deleteJson(report: RepositoryDeleteReport): Json {
  return { name: report.name, manifests: report.manifests, tags: report.tags, blobs_queued: report.blobsQueued };
}
