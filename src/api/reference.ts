/** Reads names, tags and digests out of a request, refusing anything off-grammar. */
import { type Digest, looksLikeDigest, parseDigest } from "../oci/digest.ts";
import { assertRepositoryName, assertTag } from "../oci/name.ts";
import type { Reference } from "../registry/registry.ts";
import { RegistryError } from "../oci/errors.ts";

export function repositoryName(raw: string): string {
  assertRepositoryName(raw);
  return raw;
}

/** The reference of a PUT. @throws RegistryError MANIFEST_INVALID (bad tag), DIGEST_INVALID */
export function manifestReference(raw: string): Reference {
  if (looksLikeDigest(raw)) return { digest: parseDigest(raw) };
  assertTag(raw);
  return { tag: raw };
}

/**
 * The reference of a GET, HEAD or DELETE. One that is neither a valid tag nor a digest names
 * nothing, so it answers as an absent manifest does: clients treat "not found" uniformly (the
 * OCI conformance suite looks up ".INVALID_MANIFEST_NAME" and expects 404).
 * @throws RegistryError MANIFEST_UNKNOWN
 */
export function lookupReference(raw: string): Reference {
  try {
    return manifestReference(raw);
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    const shown = raw.slice(0, 140);
    throw new RegistryError("MANIFEST_UNKNOWN", {
      message: `Manifest ${shown} is not known to this repository (it is neither a valid tag nor a digest)`,
      detail: { reference: shown },
    });
  }
}

export function requiredDigestParam(url: URL): Digest {
  const value = url.searchParams.get("digest");
  if (value === null || value === "") {
    throw new RegistryError("DIGEST_INVALID", { message: "The digest query parameter is required to finish an upload" });
  }
  return parseDigest(value);
}
