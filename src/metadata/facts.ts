/**
 * What the index records of a manifest, taken from its bytes and, for an image, its config
 * blob (platform, labels, created): the same facts at push time and at rebuild time.
 */
import { formatDigest, type Digest } from "../oci/digest.ts";
import type { ParsedManifest } from "../oci/manifest.ts";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ManifestReference {
  digest: string;
  kind: "blob" | "manifest";
  size: number;
}

export interface ManifestFacts {
  repository: string;
  digest: string;
  mediaType: string;
  /** the manifest's own bytes */
  size: number;
  /** the manifest, its config and layers (an index: itself and its children's totals where known) */
  totalSize: number;
  artifactType: string | null;
  subject: string | null;
  configDigest: string | null;
  platforms: Platform[];
  labels: Record<string, string>;
  /** null when the manifest has none (an empty object is kept as such) */
  annotations: Record<string, string> | null;
  /** the image's `created`, as its config says */
  created: string | null;
  references: ManifestReference[];
}

const IMAGE_CONFIG_TYPES = new Set(["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"]);

/** The config blob's media type, when the manifest's first blob is an image config. */
export function imageConfigDigest(parsed: ParsedManifest): string | null {
  const first = parsed.blobs[0];
  return first && IMAGE_CONFIG_TYPES.has(first.mediaType) ? first.digest : null;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function strings(value: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [key, entry] of Object.entries(record(value) ?? {})) if (typeof entry === "string") map[key] = entry;
  return map;
}

interface ConfigFacts {
  platform: Platform | null;
  labels: Record<string, string>;
  created: string | null;
}

/** Platform, labels and created from an image config's bytes; nothing when it is not one. */
export function configFacts(bytes: Uint8Array | null): ConfigFacts {
  const none: ConfigFacts = { platform: null, labels: {}, created: null };
  if (bytes === null) return none;
  let config: Record<string, unknown> | null;
  try {
    config = record(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return none;
  }
  if (config === null) return none;
  const { os, architecture, variant, created } = config;
  const platform: Platform | null = typeof os === "string" && typeof architecture === "string" ? { os, architecture } : null;
  if (platform && typeof variant === "string") platform.variant = variant;
  return { platform, labels: strings(record(config.config)?.Labels), created: typeof created === "string" ? created : null };
}

export interface FactsInput {
  repository: string;
  digest: Digest;
  bytes: Uint8Array;
  parsed: ParsedManifest;
  /** the config blob's bytes, when the manifest is an image's */
  config: Uint8Array | null;
  /** the stored size of each referenced blob where known (else the descriptor's) */
  blobSizes?: ReadonlyMap<string, number>;
}

export function manifestFacts({ repository, digest, bytes, parsed, config, blobSizes }: FactsInput): ManifestFacts {
  const references = new Map<string, ManifestReference>();
  for (const blob of parsed.blobs) {
    if (blob.urls?.length) continue; // a foreign layer is not stored here
    references.set(blob.digest, { digest: blob.digest, kind: "blob", size: blobSizes?.get(blob.digest) ?? blob.size });
  }
  for (const child of parsed.manifests) references.set(child.digest, { digest: child.digest, kind: "manifest", size: child.size });
  const fromConfig = configFacts(config);
  const childPlatforms = parsed.manifests.flatMap((child): Platform[] => {
    const p = child.platform;
    if (!p?.os || !p.architecture) return [];
    return [p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture }];
  });
  let total = bytes.byteLength;
  for (const reference of references.values()) total += reference.size;
  return {
    repository,
    digest: formatDigest(digest),
    mediaType: parsed.mediaType,
    size: bytes.byteLength,
    totalSize: total,
    artifactType: parsed.artifactType ?? null,
    subject: parsed.subject?.digest ?? null,
    configDigest: imageConfigDigest(parsed),
    platforms: fromConfig.platform ? [fromConfig.platform] : childPlatforms,
    labels: fromConfig.labels,
    annotations: parsed.annotations ?? null,
    created: fromConfig.created,
    references: [...references.values()],
  };
}
