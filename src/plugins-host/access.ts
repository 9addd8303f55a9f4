/** The registry as plugins see it (PluginContext.registry): reads, and deletes through the rules and hooks. */
import type { RegistryReader, RegistryWriter, RequestInfo } from "../hooks/types.ts";
import { formatDigest, looksLikeDigest, parseDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import { assertRepositoryName } from "../oci/name.ts";
import type { Registry } from "../registry/registry.ts";

/** What a plugin asking about an unknown repository or manifest (or a malformed name) gets: null. */
const ABSENT = new Set(["NAME_UNKNOWN", "NAME_INVALID", "MANIFEST_UNKNOWN", "DIGEST_INVALID"]);

async function orNull<T>(repository: string, read: () => Promise<T>): Promise<T | null> {
  try {
    assertRepositoryName(repository);
    return await read();
  } catch (error) {
    if (error instanceof RegistryError && ABSENT.has(error.code)) return null;
    throw error;
  }
}

export function registryAccess(registry: Registry, plugin: string): RegistryReader & RegistryWriter {
  const info: RequestInfo = { id: crypto.randomUUID(), addr: "", host: "", method: "PLUGIN", useragent: `berth-plugin/${plugin}`, actor: `plugin:${plugin}` };
  const reference = (ref: string) => (looksLikeDigest(ref) ? { digest: parseDigest(ref) } : { tag: ref });
  const everything = { q: "", page: 1, perPage: Number.MAX_SAFE_INTEGER };
  return {
    repositories: () => registry.repositories().then((names) => [...names]),
    tags: (repository) => registry.tags(repository).then((tags) => [...tags]),
    async manifest(repository, ref) {
      try {
        const m = await registry.readManifest(repository, reference(ref));
        return { digest: formatDigest(m.digest), mediaType: m.mediaType, bytes: new Uint8Array(m.bytes) }; // a copy, not the cached buffer
      } catch {
        return null;
      }
    },
    async blob(repository, digest, maxBytes) {
      // as a HEAD: no hook asked, no event
      const found = await orNull(repository, () => registry.statBlob(repository, parseDigest(digest), info, false)).catch((error: unknown) => {
        if (error instanceof RegistryError && error.code === "BLOB_UNKNOWN") return null;
        throw error;
      });
      return found && found.size <= maxBytes ? new Uint8Array(await found.content.arrayBuffer()) : null;
    },
    async blobContent(repository, digest) {
      const found = await orNull(repository, () => registry.statBlob(repository, parseDigest(digest), info, false)).catch((error: unknown) => {
        if (error instanceof RegistryError && error.code === "BLOB_UNKNOWN") return null;
        throw error;
      });
      return found ? found.content : null;
    },
    repositoryFacts: (repository) => orNull(repository, () => registry.repositoryFactsOf(repository)),
    tagFacts: (repository) => orNull(repository, () => registry.tagFacts(repository, { ...everything, sort: "name" }).then((page) => page.items)),
    manifestFacts: (repository, digest) => orNull(repository, () => registry.manifestFacts(repository, parseDigest(digest))),
    usage: () => registry.usage(),
    manifests: (repository) => orNull(repository, () => registry.indexReads.manifestList(repository)),
    storedBytes: (repositories) => registry.indexReads.storedBytes(repositories),
    freedBytes: (manifests) => registry.indexReads.freedBytes(manifests),
    deleteTag: (repository, tag, options = {}) => registry.deleteManifest(repository, { tag }, info, options.ifDigest === undefined ? {} : { ifDigest: options.ifDigest }),
    deleteManifest: (repository, digest) => registry.deleteManifest(repository, { digest: parseDigest(digest) }, info),
    async tagManifest(repository, tag, digest) {
      const stored = await registry.readManifest(repository, { digest: parseDigest(digest) });
      await registry.putManifest(repository, { tag }, new Uint8Array(stored.bytes), stored.mediaType, info);
    },
  };
}
