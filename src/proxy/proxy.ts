/**
 * The pull-through cache ([[proxy]]): for a name under a proxied prefix (or any name no local
 * repository has, with `prefix = ""`), what a manifest or blob read needs from the upstream
 * before storage can answer it. The API layer asks it only when [[proxy]] is configured.
 */
import type { ProxyRule } from "../config/resolve.ts";
import type { RequestInfo } from "../hooks/types.ts";
import type { MetricsApi } from "../hooks/metrics.ts";
import type { Logger } from "../log.ts";
import { type Digest, formatDigest } from "../oci/digest.ts";
import type { Reference, Registry, StoredManifest } from "../registry/registry.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { BlobPuller, type PulledBlob } from "./blob-pull.ts";
import { CachedNames } from "./cached-names.ts";
import { ProxyCounters } from "./counters.ts";
import { ManifestPuller } from "./manifest-pull.ts";
import { type ProxyRoute, ProxyRoutes } from "./route.ts";
import { UpstreamUnavailable } from "./upstream.ts";

export { UpstreamUnavailable };
export type { PulledBlob };

/** Who cached content is stored by, in events, tag history and the index. */
export const PROXY_ACTOR = "berth:proxy";

/** A blob the upstream has, seen by HEAD (nothing stored). */
export interface UpstreamBlobHead {
  size: string | null;
}

export class PullThroughCache {
  readonly counters: ProxyCounters;
  private readonly routes: ProxyRoutes;
  private readonly names: CachedNames;
  private readonly blobs: BlobPuller;
  private readonly manifests: ManifestPuller;

  constructor(
    rules: readonly ProxyRule[],
    private readonly registry: Registry,
    driver: StorageDriver,
    log: Logger,
    /** where the cache's series go (GET /metrics); none in tests that do without */
    metrics?: MetricsApi,
  ) {
    this.counters = new ProxyCounters(metrics, [...new Set(rules.map((rule) => rule.url))]);
    this.routes = new ProxyRoutes(rules, (url) => this.counters.upstreamError(url));
    this.names = new CachedNames(driver);
    const request: RequestInfo = { id: "", addr: "", host: "", method: "GET", useragent: "berth-proxy", actor: PROXY_ACTOR };
    this.blobs = new BlobPuller(registry, request, this.counters, log);
    this.manifests = new ManifestPuller({ registry, blobs: this.blobs, names: this.names, request, counters: this.counters, log });
  }

  /** The upstream's URL when pushes and deletes of this name must be refused (a non-empty proxied prefix). */
  mirrorOf(name: string): string | null {
    return this.routes.mirroredUrl(name);
  }

  /**
   * The manifest to answer instead of storage's (just fetched, still being stored), or null.
   * @throws UpstreamUnavailable (a miss no upstream answered), RegistryError MANIFEST_UNKNOWN
   */
  async manifest(name: string, reference: Reference): Promise<StoredManifest | null> {
    const route = await this.routeOf(name);
    if (route === null) return null;
    this.counters.requested("manifest");
    return this.manifests.resolve(route, name, reference);
  }

  /**
   * A blob missing from storage, from the upstream as it is stored; null when storage has it.
   * @throws UpstreamUnavailable, RegistryError BLOB_UNKNOWN
   */
  async blob(name: string, digest: Digest): Promise<PulledBlob | null> {
    const route = await this.routeOf(name);
    if (route === null) return null;
    this.counters.requested("blob");
    if (await this.registry.hasBlob(name, digest)) return this.hit();
    try {
      // null: another pull stored it meanwhile, storage serves it
      return (await this.blobs.pull(route, name, digest)) ?? this.hit();
    } catch (error) {
      if (error instanceof UpstreamUnavailable) this.counters.upstreamFailures++;
      throw error;
    }
  }

  private hit(): null {
    this.counters.hit("blob");
    return null;
  }

  /** HEAD of a missing blob: asks the upstream, stores nothing; null when storage has it. */
  async blobHead(name: string, digest: Digest): Promise<UpstreamBlobHead | null> {
    const route = await this.routeOf(name);
    if (route === null || (await this.registry.hasBlob(name, digest))) return null;
    const response = await route.upstream.request("HEAD", route.upstreamName, `blobs/${formatDigest(digest)}`);
    if (!response.ok) return null; // storage answers BLOB_UNKNOWN
    return { size: response.headers.get("content-length") };
  }

  /** Rules (credentials left out), cached repositories and counters: GET /api/v1/proxy. */
  async status(): Promise<unknown> {
    const cached = await this.names.all();
    return {
      upstreams: this.routes.all.map(({ rule }) => ({
        prefix: rule.prefix,
        url: rule.url,
        authenticated: rule.username !== "",
        ttl_ms: rule.ttlMs,
        timeout_ms: rule.timeoutMs,
      })),
      repositories: [...cached].map(([name, upstream]) => ({ name, upstream })).sort((a, b) => a.name.localeCompare(b.name)),
      counters: {
        upstream_fetches: this.counters.upstreamFetches,
        revalidations: this.counters.revalidations,
        served_stale: this.counters.servedStale,
        upstream_failures: this.counters.upstreamFailures,
        upstream_errors: this.counters.upstreamErrors,
        digest_mismatches: this.counters.digestMismatches,
      },
    };
  }

  /** A local repository shadows the "" fallback; one filled from the upstream does not. */
  private async routeOf(name: string): Promise<ProxyRoute | null> {
    const route = this.routes.routeOf(name);
    if (route === null || route.prefix !== "") return route;
    if ((await this.names.upstreamOf(name)) !== undefined) return route;
    return (await this.registry.hasRepository(name)) ? null : route;
  }
}
