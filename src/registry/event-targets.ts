/** What an event names: the blob or manifest a change touched, with its /v2/ path. */
import { type Digest, formatDigest } from "../oci/digest.ts";
import type { EventTarget } from "../hooks/events.ts";

const BLOB_MEDIA_TYPE = "application/octet-stream";

export function blobTarget(repository: string, digest: Digest, size: number): EventTarget {
  const d = formatDigest(digest);
  return { mediaType: BLOB_MEDIA_TYPE, digest: d, size, repository, path: `/v2/${repository}/blobs/${d}` };
}

export function manifestTarget(repository: string, digest: Digest, mediaType: string, size: number, tag?: string): EventTarget {
  const d = formatDigest(digest);
  const target: EventTarget = { mediaType, digest: d, size, repository, path: `/v2/${repository}/manifests/${d}` };
  return tag === undefined ? target : { ...target, tag };
}
