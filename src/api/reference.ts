/** Reads names, tags and digests out of a request, refusing anything off-grammar. */
import { type Digest, looksLikeDigest, parseDigest } from "../oci/digest.ts";
import { assertRepositoryName, assertTag } from "../oci/name.ts";
import type { Reference } from "../registry/manifests.ts";
import { RegistryError } from "./errors.ts";

export function repositoryName(raw: string): string {
  assertRepositoryName(raw);
  return raw;
}

export function manifestReference(raw: string): Reference {
  if (looksLikeDigest(raw)) return { digest: parseDigest(raw) };
  assertTag(raw);
  return { tag: raw };
}

export function requiredDigestParam(url: URL): Digest {
  const value = url.searchParams.get("digest");
  if (value === null || value === "") {
    throw new RegistryError("DIGEST_INVALID", { message: "The digest query parameter is required to finish an upload" });
  }
  return parseDigest(value);
}
