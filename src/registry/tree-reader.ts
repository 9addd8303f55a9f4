/** The directory tree as the metadata index reads it (src/metadata/tree.ts), over the driver. */
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import type { TreeManifest, TreeReader } from "../metadata/tree.ts";
import { imageConfigDigest } from "../metadata/facts.ts";
import { PathNotFoundError, type StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { walkRepositories } from "./catalog.ts";
import { exists, readLink } from "./links.ts";
import { readManifestBlob } from "./manifest-bytes.ts";
import { uploadStartedAt } from "./uploads.ts";

/** An image config larger than this is not read for labels (real ones are a few KiB). */
const MAX_CONFIG_BYTES = 1024 * 1024;

async function digestsUnder(driver: StorageDriver, root: string): Promise<Digest[]> {
  const found: Digest[] = [];
  for (const algorithm of await driver.list(root)) {
    for (const hex of await driver.list(`${root}/${algorithm}`)) {
      try {
        found.push(parseDigest(`${algorithm}:${hex}`));
      } catch {
        // not a digest directory: nothing Distribution or Berth wrote
      }
    }
  }
  return found;
}

async function sizeOf(driver: StorageDriver, path: string): Promise<number | null> {
  try {
    return (await driver.stat(path)).size;
  } catch (error) {
    if (error instanceof PathNotFoundError) return null;
    throw error;
  }
}

export function treeReader(driver: StorageDriver): TreeReader {
  return {
    async *repositories() {
      for await (const entry of walkRepositories(driver)) if (entry.hasManifests) yield entry.name;
    },
    manifestDigests: (repository) => digestsUnder(driver, paths.manifestRevisionsRoot(repository)),
    async manifest(repository, digest): Promise<TreeManifest | null> {
      if (!(await exists(driver, paths.manifestRevisionLink(repository, digest)))) return null;
      const found = await readManifestBlob(driver, digest);
      if (found === null) return null;
      const { bytes, parsed } = found;
      const configDigest = imageConfigDigest(parsed);
      let config: Uint8Array | null = null;
      if (configDigest !== null) {
        const path = paths.blobData(parseDigest(configDigest));
        const size = await sizeOf(driver, path);
        if (size !== null && size <= MAX_CONFIG_BYTES) config = await driver.getContent(path).catch(() => null);
      }
      return { bytes, parsed, config };
    },
    async tags(repository) {
      const tags: Array<{ tag: string; digest: Digest }> = [];
      for (const tag of await driver.list(paths.tagsRoot(repository))) {
        const digest = await readLink(driver, paths.tagCurrentLink(repository, tag));
        if (digest) tags.push({ tag, digest });
      }
      return tags;
    },
    tag: (repository, tag) => readLink(driver, paths.tagCurrentLink(repository, tag)),
    async layers(repository) {
      const linked: Digest[] = [];
      const root = `${paths.repository(repository)}/_layers`;
      for (const digest of await digestsUnder(driver, root)) {
        const link = await readLink(driver, paths.layerLink(repository, digest));
        if (link && formatDigest(link) === formatDigest(digest)) linked.push(digest);
      }
      return linked;
    },
    async layerLinked(repository, digest) {
      const link = await readLink(driver, paths.layerLink(repository, digest));
      return link !== null && formatDigest(link) === formatDigest(digest);
    },
    async *blobs() {
      const root = paths.blobsRoot();
      for await (const entry of driver.walk(root)) {
        // <root>/<algorithm>/<2 hex>/<hex>/data
        const parts = entry.path.slice(root.length + 1).split("/");
        if (parts.length !== 4 || parts[3] !== "data") continue;
        try {
          yield { digest: parseDigest(`${parts[0]}:${parts[2]}`), size: entry.size };
        } catch {
          // not a blob Berth could name
        }
      }
    },
    blobSize: (digest) => sizeOf(driver, paths.blobData(digest)),
    async uploads(repository) {
      const sessions: Array<{ id: string; startedAt: number }> = [];
      for (const id of await driver.list(paths.uploadsRoot(repository))) {
        const started = await uploadStartedAt(driver, repository, id);
        if (started !== null) sessions.push({ id, startedAt: started.getTime() });
      }
      return sessions;
    },
  };
}
