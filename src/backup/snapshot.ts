/**
 * A backup's point in time: GC is held (no blob may go), then every repository's tags and
 * manifests are read once; the archive holds exactly those manifests, the blobs they name and
 * the links of Distribution's tree, so every tag in it resolves to a manifest whose blobs are
 * in it. Pushes go on meanwhile: what lands after a repository was read is in the next backup.
 */
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import type { Registry } from "../registry/registry.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import type { TarEntry } from "./tar.ts";

export interface BackupPlan {
  repositories: number;
  tags: number;
  manifests: number;
  blobs: number;
  bytes: number;
  entries: TarEntry[];
}

/** Reads the registry's state into a list of tar entries; blob bodies are read when written. */
export async function planBackup(registry: Registry, driver: StorageDriver): Promise<BackupPlan> {
  const blobs = new Map<string, Digest>();
  const entries: TarEntry[] = [];
  const link = (path: string, digest: Digest): TarEntry => {
    const body = new TextEncoder().encode(formatDigest(digest));
    return { path, size: body.byteLength, body: () => body };
  };
  let tags = 0;
  let manifests = 0;
  const repositories = await registry.repositories();
  for (const repository of repositories) {
    const seen = new Set<string>();
    const addManifest = async (digest: Digest) => {
      const key = formatDigest(digest);
      if (seen.has(key)) return;
      seen.add(key);
      const stored = await registry.readManifest(repository, { digest });
      manifests++;
      blobs.set(key, digest);
      entries.push(link(paths.manifestRevisionLink(repository, digest), digest));
      for (const blob of stored.parsed.blobs) {
        if (blob.urls !== undefined && blob.urls.length > 0) continue; // foreign layers are not stored here
        const blobDigest = parseDigest(blob.digest);
        blobs.set(blob.digest, blobDigest);
        entries.push(link(paths.layerLink(repository, blobDigest), blobDigest));
      }
      // a child may be absent: the pull-through cache stores an index's children only when pulled
      for (const child of stored.parsed.manifests) await addManifest(parseDigest(child.digest)).catch(skipUnknown);
    };
    for (const tag of await registry.tags(repository)) {
      let stored;
      try {
        stored = await registry.readManifest(repository, { tag });
      } catch {
        continue; // deleted since the listing
      }
      tags++;
      entries.push(link(paths.tagCurrentLink(repository, tag), stored.digest), link(paths.tagIndexLink(repository, tag, stored.digest), stored.digest));
      await addManifest(stored.digest);
    }
    // untagged manifests (referrers: signatures, SBOMs) come too
    for (const summary of await registry.indexReads.manifestList(repository).catch(() => [])) await addManifest(parseDigest(summary.digest)).catch(() => undefined);
  }
  let bytes = 0;
  for (const digest of blobs.values()) {
    const path = paths.blobData(digest);
    const size = (await driver.stat(path)).size;
    bytes += size;
    entries.push({ path, size, body: () => driver.blob(path).stream() });
  }
  return { repositories: repositories.length, tags, manifests, blobs: blobs.size, bytes, entries };
}

function skipUnknown(error: unknown): void {
  if (!(error instanceof RegistryError && error.code === "MANIFEST_UNKNOWN")) throw error;
}
