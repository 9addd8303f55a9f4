/**
 * Which storage objects `berth migrate` copies, and what a blob's bytes must hash to.
 *
 * Copied: Distribution's tree (blobs, repositories with their links, upload sessions) and the
 * part of berth/ every process serving the storage shares (the referrers index, the token
 * signing key). Not copied: berth/'s local state (the root lock, the admin socket, the SQLite
 * index, which the metadata step copies by rows, and plugins' data under berth/plugins/).
 */
import type { DigestAlgorithm } from "../oci/digest.ts";
import { paths } from "../storage/paths.ts";

/** The trees whose every object is copied (walked one after the other). */
export const MIGRATED_TREES: readonly string[] = ["docker/registry/v2", paths.referrersRoot(), paths.tokenKeyRoot()];

/** A blob's data file: .../blobs/<alg>/<first 2 hex>/<hex>/data */
const BLOB_DATA = /^docker\/registry\/v2\/blobs\/([^/]+)\/([^/]+)\/([^/]+)\/data$/;
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/**
 * The digest a path under blobs/ names, which its bytes must hash to; null for any other path.
 * @throws Error for a data file under blobs/ whose path is not a digest Berth can check
 */
export function expectedDigest(path: string): ExpectedDigest | null {
  if (!path.startsWith(`${paths.blobsRoot()}/`) || !path.endsWith("/data")) return null;
  const match = BLOB_DATA.exec(path);
  const [, algorithm, prefix, hex] = match ?? [];
  if (algorithm !== "sha256" && algorithm !== "sha512") throw new Error(`${path}: not a blob Berth can verify (algorithm "${algorithm ?? "?"}")`);
  if (hex === undefined || !/^[0-9a-f]+$/.test(hex) || hex.length !== HEX_LENGTH[algorithm] || prefix !== hex.slice(0, 2)) throw new Error(`${path}: not a blob path (<alg>/<2 hex>/<hex>/data)`);
  return { algorithm, hex };
}

/** Hashes what streams through it; `check` says whether the bytes are the expected blob's. */
export class BlobVerifier {
  private readonly hasher: Bun.CryptoHasher;

  constructor(private readonly expected: ExpectedDigest) {
    this.hasher = new Bun.CryptoHasher(expected.algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hasher.update(chunk);
  }

  /** @throws Error naming both digests when the content is not the blob its path names */
  check(path: string): void {
    const actual = this.hasher.digest("hex");
    const { algorithm, hex } = this.expected;
    if (actual !== hex) {
      throw new Error(`${path}: content hashes to ${algorithm}:${actual}, not ${algorithm}:${hex} (the source blob is corrupt: berth fsck reports it); not copied`);
    }
  }
}
