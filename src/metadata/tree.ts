/**
 * What the index needs to read from the directory tree, the source of truth, to rebuild
 * itself or to settle a change a crash interrupted. The registry implements it over its driver.
 */
import type { Digest } from "../oci/digest.ts";
import type { ParsedManifest } from "../oci/manifest.ts";

export interface TreeManifest {
  bytes: Uint8Array;
  parsed: ParsedManifest;
  /** the image config's bytes, when it is an image manifest and the config is stored */
  config: Uint8Array | null;
}

export interface TreeReader {
  /** every repository with a _manifests directory */
  repositories(): AsyncIterable<string>;
  /** digests with a revision link in the repository */
  manifestDigests(repository: string): Promise<Digest[]>;
  /** the manifest under a revision link, parsed; null when absent or not a manifest */
  manifest(repository: string, digest: Digest): Promise<TreeManifest | null>;
  /** each tag with a current link, and the digest it names */
  tags(repository: string): Promise<Array<{ tag: string; digest: Digest }>>;
  /** the digest a tag's current link names, or null */
  tag(repository: string, tag: string): Promise<Digest | null>;
  /** digests linked into the repository (_layers) */
  layers(repository: string): Promise<Digest[]>;
  /** whether the repository has a _layers link naming `digest` */
  layerLinked(repository: string, digest: Digest): Promise<boolean>;
  /** every blob's data in the store, with its size */
  blobs(): AsyncIterable<{ digest: Digest; size: number }>;
  /** the size of a blob's data, or null when it is not stored */
  blobSize(digest: Digest): Promise<number | null>;
  /** upload sessions in the repository (_uploads) and when each started (ms) */
  uploads(repository: string): Promise<Array<{ id: string; startedAt: number }>>;
}
