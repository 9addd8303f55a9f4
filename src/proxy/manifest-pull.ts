/**
 * Manifests pulled through. A miss is fetched from the upstream (one request however many
 * clients ask), checked against its digest and answered from memory at once, while it is stored
 * in the background through the facade's push path: an image after its config and layers (the
 * blobs a client is pulling meanwhile are the same single flights), an index alone: each child
 * is fetched and stored when a client pulls it, so platforms nobody uses cost no upstream pull.
 * A digest is served from the cache forever; a tag within its ttl, then after one HEAD upstream.
 */
import type { RequestInfo } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import { type Digest, digestOf, formatDigest, parseDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import { parseManifest } from "../oci/manifest.ts";
import { isForeignLayer, MANIFEST_MEDIA_TYPES } from "../oci/media-types.ts";
import type { Reference, Registry, StoredManifest } from "../registry/registry.ts";
import type { BlobPuller } from "./blob-pull.ts";
import type { CachedNames } from "./cached-names.ts";
import type { ProxyCounters } from "./counters.ts";
import type { ProxyRoute } from "./route.ts";
import { UpstreamUnavailable } from "./upstream.ts";

const ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");
/** An upstream manifest larger than this is refused (Berth's own push limit is 4 MiB by default). */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** Tags whose last upstream check is remembered; the oldest are forgotten first (then asked again). */
const MAX_CHECKED_TAGS = 100_000;

export interface ManifestPullDeps {
  registry: Registry;
  blobs: BlobPuller;
  names: CachedNames;
  request: RequestInfo;
  counters: ProxyCounters;
  log: Logger;
}

export class ManifestPuller {
  /** repository:tag -> when the upstream last confirmed what the cache holds */
  private readonly checked = new Map<string, number>();
  /** fetched, not yet stored: repository@digest and repository:tag */
  private readonly pending = new Map<string, StoredManifest>();
  private readonly fetches = new Map<string, Promise<StoredManifest>>();

  constructor(private readonly deps: ManifestPullDeps) {}

  /**
   * The manifest to answer when it is not (or not yet) the stored one; null to serve storage.
   * @throws UpstreamUnavailable on a miss no upstream answered, RegistryError MANIFEST_UNKNOWN
   */
  async resolve(route: ProxyRoute, repository: string, reference: Reference): Promise<StoredManifest | null> {
    if ("digest" in reference) {
      const pending = this.pending.get(`${repository}@${formatDigest(reference.digest)}`);
      if (pending) return this.hit(pending);
      if (await this.stored(repository, reference)) return this.hit(null);
      return this.missed(() => this.fetch(route, repository, reference));
    }
    const tagKey = `${repository}:${reference.tag}`;
    const checkedAt = this.checked.get(tagKey);
    const fresh = checkedAt !== undefined && Date.now() - checkedAt < route.ttlMs;
    const pending = this.pending.get(tagKey);
    if (fresh && pending) return this.hit(pending);
    const local = pending ? null : await this.stored(repository, reference);
    const current = pending ?? local;
    if (current === null) return this.missed(() => this.fetch(route, repository, reference));
    const answer = current === local ? null : current;
    if (fresh) return this.hit(answer);
    try {
      const upstreamDigest = await this.head(route, reference.tag);
      if (upstreamDigest === formatDigest(current.digest) || upstreamDigest === "absent") {
        this.remember(tagKey);
        return this.hit(answer);
      }
      return await this.fetch(route, repository, reference);
    } catch (error) {
      if (!(error instanceof UpstreamUnavailable)) throw error;
      this.deps.counters.servedStaleManifest();
      this.deps.log("warn", "proxy: upstream unavailable, serving the cached manifest", { repository, tag: reference.tag, error: error.message });
      return answer;
    }
  }

  /** Answered without fetching (from storage, or from a fetch another pull made). */
  private hit<T>(answer: T): T {
    this.deps.counters.hit("manifest");
    return answer;
  }

  private async missed(fetch: () => Promise<StoredManifest>): Promise<StoredManifest> {
    try {
      return await fetch();
    } catch (error) {
      if (error instanceof UpstreamUnavailable) this.deps.counters.upstreamFailures++;
      throw error;
    }
  }

  private async stored(repository: string, reference: Reference): Promise<StoredManifest | null> {
    try {
      return await this.deps.registry.readManifest(repository, reference);
    } catch (error) {
      if (error instanceof RegistryError && (error.code === "MANIFEST_UNKNOWN" || error.code === "NAME_UNKNOWN")) return null;
      throw error;
    }
  }

  /** The tag's digest upstream, "absent" when the upstream no longer has it (the cache keeps serving it), null when it did not say. */
  private async head(route: ProxyRoute, tag: string): Promise<string | null> {
    this.deps.counters.revalidated();
    const response = await route.upstream.request("HEAD", route.upstreamName, `manifests/${tag}`, { Accept: ACCEPT });
    if (response.status === 404) return "absent";
    if (!response.ok) throw route.upstream.unavailable(`HEAD manifests/${tag} answered ${response.status}`);
    return response.headers.get("docker-content-digest");
  }

  private fetch(route: ProxyRoute, repository: string, reference: Reference): Promise<StoredManifest> {
    const key = `${repository}:${"tag" in reference ? reference.tag : formatDigest(reference.digest)}`;
    const running = this.fetches.get(key);
    if (running) return running;
    const fetching = this.fetchNow(route, repository, reference);
    this.fetches.set(key, fetching);
    const forget = () => this.fetches.delete(key);
    fetching.then(forget, forget);
    return fetching;
  }

  private async fetchNow(route: ProxyRoute, repository: string, reference: Reference): Promise<StoredManifest> {
    const shown = "tag" in reference ? reference.tag : formatDigest(reference.digest);
    const response = await route.upstream.request("GET", route.upstreamName, `manifests/${shown}`, { Accept: ACCEPT });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new RegistryError("MANIFEST_UNKNOWN", { message: `Manifest ${shown} is not known to ${route.upstream.url}`, detail: { reference: shown } });
    }
    const length = Number(response.headers.get("content-length") ?? 0);
    if (!response.ok || length > MAX_MANIFEST_BYTES) {
      await response.body?.cancel();
      throw route.upstream.unavailable(`GET manifests/${shown} answered ${response.status} (${length} bytes)`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer().catch((error: unknown) => {
      throw route.upstream.unavailable(`GET manifests/${shown} broke off: ${String(error)}`);
    }));
    const manifest = this.verified(route, reference, bytes, response.headers);
    this.deps.counters.fetched("manifest");
    this.deps.counters.pulledBytes("manifest", bytes.byteLength);
    const digestKey = `${repository}@${formatDigest(manifest.digest)}`;
    this.pending.set(digestKey, manifest);
    if ("tag" in reference) {
      this.pending.set(`${repository}:${reference.tag}`, manifest);
      this.remember(`${repository}:${reference.tag}`);
    }
    void this.store(route, repository, reference, manifest).then(
      () => this.deps.log("info", "proxy: fetched from upstream", { upstream: route.upstream.url, repository, reference: shown, digest: formatDigest(manifest.digest), bytes: bytes.byteLength }),
      (error: unknown) => this.deps.log("warn", "proxy: a fetched manifest could not be cached", { upstream: route.upstream.url, repository, reference: shown, error: String(error) }),
    ).finally(() => {
      if (this.pending.get(digestKey) === manifest) this.pending.delete(digestKey);
      if ("tag" in reference && this.pending.get(`${repository}:${reference.tag}`) === manifest) this.pending.delete(`${repository}:${reference.tag}`);
    });
    return manifest;
  }

  /** The upstream's bytes as a manifest whose digest is the one asked for (or the one it announced). */
  private verified(route: ProxyRoute, reference: Reference, bytes: Uint8Array, headers: Headers): StoredManifest {
    const contentType = headers.get("content-type") ?? "";
    let parsed;
    try {
      parsed = parseManifest(bytes, contentType);
    } catch (error) {
      throw route.upstream.unavailable(`sent an invalid manifest: ${error instanceof Error ? error.message : String(error)}`);
    }
    const announced = headers.get("docker-content-digest");
    const expected: Digest | null = "digest" in reference ? reference.digest : announced?.startsWith("sha256:") ? parseDigest(announced) : null;
    const digest = digestOf(bytes, expected?.algorithm ?? "sha256");
    if (expected !== null && expected.hex !== digest.hex) {
      this.deps.counters.digestMismatch("manifest");
      throw route.upstream.unavailable(`sent a manifest whose digest ${formatDigest(digest)} is not ${formatDigest(expected)}`);
    }
    return { digest, bytes, mediaType: parsed.mediaType, parsed };
  }

  /** Stores a fetched manifest through the push path: an image after its blobs, an index without waiting for its children. */
  private async store(route: ProxyRoute, repository: string, reference: Reference, manifest: StoredManifest): Promise<void> {
    for (const blob of manifest.parsed.blobs) {
      if (!(isForeignLayer(blob.mediaType) && blob.urls?.length)) await this.deps.blobs.ensure(route, repository, parseDigest(blob.digest));
    }
    const options = { childrenMayBeAbsent: true }; // children come when a client pulls them
    await this.deps.registry.putManifest(repository, reference, manifest.bytes, manifest.mediaType, this.deps.request, options);
    await this.deps.names.add(repository, route.upstream.url);
  }

  private remember(tagKey: string): void {
    this.checked.delete(tagKey);
    this.checked.set(tagKey, Date.now());
    if (this.checked.size > MAX_CHECKED_TAGS) {
      const oldest = this.checked.keys().next();
      if (!oldest.done) this.checked.delete(oldest.value);
    }
  }
}
