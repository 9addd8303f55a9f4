/** Content digests: `<algorithm>:<hex>` with the algorithms the registry accepts. */
import { RegistryError } from "./errors.ts";

export type DigestAlgorithm = "sha256" | "sha512";

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// The spec's general grammar; algorithms we do not implement are refused separately.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** True when `value` looks like a digest at all (used to tell digests from tags). */
export function looksLikeDigest(value: string): boolean {
  return value.includes(":");
}

/**
 * Parses `sha256:<64 hex>` or `sha512:<128 hex>`.
 * @throws RegistryError DIGEST_INVALID for anything else.
 */
export function parseDigest(value: string): Digest {
  if (!DIGEST_GRAMMAR.test(value)) {
    throw new RegistryError("DIGEST_INVALID", { message: `Cannot parse digest "${value}"`, detail: { digest: value } });
  }
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new RegistryError("DIGEST_INVALID", {
      message: `Unsupported digest algorithm "${algorithm}" (use sha256 or sha512)`,
      detail: { digest: value },
    });
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError("DIGEST_INVALID", {
      message: `Digest "${value}" must be ${HEX_LENGTH[algorithm]} lowercase hex characters after "${algorithm}:"`,
      detail: { digest: value },
    });
  }
  return { algorithm, hex };
}

export function formatDigest(digest: Digest): string {
  return `${digest.algorithm}:${digest.hex}`;
}

/** Digest of bytes held in memory (manifests); blobs are hashed while streaming. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): Digest {
  const hasher = new Bun.CryptoHasher(algorithm);
  hasher.update(bytes);
  return { algorithm, hex: hasher.digest("hex") };
}
