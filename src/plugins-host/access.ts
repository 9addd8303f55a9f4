/** The registry as plugins see it (PluginContext.registry): reads, and deletes through the rules and hooks. */
import type { RegistryReader, RegistryWriter, RequestInfo } from "../hooks/types.ts";
import { formatDigest, looksLikeDigest, parseDigest } from "../oci/digest.ts";
import type { Registry } from "../registry/registry.ts";

export function registryAccess(registry: Registry, plugin: string): RegistryReader & RegistryWriter {
  const info: RequestInfo = { id: crypto.randomUUID(), addr: "", host: "", method: "PLUGIN", useragent: `berth-plugin/${plugin}`, actor: `plugin:${plugin}` };
  const reference = (ref: string) => (looksLikeDigest(ref) ? { digest: parseDigest(ref) } : { tag: ref });
  return {
    repositories: () => registry.repositories().then((names) => [...names]),
    tags: (repository) => registry.tags(repository).then((tags) => [...tags]),
    async manifest(repository, ref) {
      try {
        const m = await registry.readManifest(repository, reference(ref));
        return { digest: formatDigest(m.digest), mediaType: m.mediaType, bytes: m.bytes.slice() }; // not the cached buffer
      } catch {
        return null;
      }
    },
    deleteTag: (repository, tag) => registry.deleteManifest(repository, { tag }, info),
    deleteManifest: (repository, digest) => registry.deleteManifest(repository, { digest: parseDigest(digest) }, info),
  };
}
