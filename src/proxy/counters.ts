/**
 * What the pull-through cache counts: totals shown by GET /api/v1/proxy and, when the process
 * has a metrics registry, series on GET /metrics. Distribution's names where it has them
 * (`registry_proxy_*`, label `type` = "manifest" | "blob", so its dashboards work), else
 * `berth_proxy_*`. Every series starts at 0, as Distribution's do, so a query finds it before
 * the first pull.
 */
import type { Counter, MetricsApi } from "../hooks/metrics.ts";

export type ProxiedContent = "manifest" | "blob";

const TYPES: readonly ProxiedContent[] = ["manifest", "blob"];

interface Series {
  requests: Counter;
  hits: Counter;
  misses: Counter;
  pulledBytes: Counter;
  upstreamErrors: Counter;
  staleServed: Counter;
  revalidations: Counter;
  digestMismatches: Counter;
}

export class ProxyCounters {
  /** answers fetched from an upstream (manifests and blobs) */
  upstreamFetches = 0;
  /** tag revalidations (HEAD) */
  revalidations = 0;
  /** cached content served because the upstream was down, slow or refusing */
  servedStale = 0;
  /** misses that failed because no upstream answered (502) */
  upstreamFailures = 0;
  /** upstream requests with no usable answer (network, time limit, 5xx, 429, refused credentials, a bad manifest) */
  upstreamErrors = 0;
  /** upstream blobs and manifests refused for a wrong digest */
  digestMismatches = 0;
  private readonly series: Series | null;

  /** `upstreams`: the configured URLs, whose error series start at 0 */
  constructor(metrics?: MetricsApi, upstreams: readonly string[] = []) {
    this.series = metrics ? register(metrics) : null;
    for (const upstream of upstreams) this.series?.upstreamErrors.inc({ upstream }, 0);
  }

  /** A read of a proxied name reached the cache (manifest GET or HEAD, blob GET). */
  requested(type: ProxiedContent): void {
    this.series?.requests.inc({ type });
  }

  /** A read answered from the cache without fetching from the upstream. */
  hit(type: ProxiedContent): void {
    this.series?.hits.inc({ type });
  }

  /** Content fetched from the upstream (a miss). */
  fetched(type: ProxiedContent): void {
    this.upstreamFetches++;
    this.series?.misses.inc({ type });
  }

  /** Bytes received from the upstream and verified against their digest. */
  pulledBytes(type: ProxiedContent, bytes: number): void {
    this.series?.pulledBytes.inc({ type }, bytes);
  }

  upstreamError(upstream: string): void {
    this.upstreamErrors++;
    this.series?.upstreamErrors.inc({ upstream });
  }

  /** A cached manifest served because its upstream could not be asked (and a hit). */
  servedStaleManifest(): void {
    this.servedStale++;
    this.series?.staleServed.inc();
    this.hit("manifest");
  }

  revalidated(): void {
    this.revalidations++;
    this.series?.revalidations.inc();
  }

  digestMismatch(type: ProxiedContent): void {
    this.digestMismatches++;
    this.series?.digestMismatches.inc({ type });
  }
}

function register(metrics: MetricsApi): Series {
  const typed = ["type"];
  const series: Series = {
    requests: metrics.counter("registry_proxy_requests_total", "Reads of proxied names that reached the pull-through cache (Distribution's name).", typed),
    hits: metrics.counter("registry_proxy_hits_total", "Proxied reads answered from the cache without fetching (Distribution's name).", typed),
    misses: metrics.counter("registry_proxy_misses_total", "Manifests and blobs fetched from an upstream (Distribution's name).", typed),
    pulledBytes: metrics.counter("registry_proxy_pulled_bytes_total", "Bytes fetched from upstreams and verified (Distribution's name).", typed),
    upstreamErrors: metrics.counter("berth_proxy_upstream_errors_total", "Upstream requests with no usable answer (network, time limit, 5xx, 429, refused credentials).", ["upstream"]),
    staleServed: metrics.counter("berth_proxy_stale_served_total", "Cached manifests served because the upstream could not confirm them."),
    revalidations: metrics.counter("berth_proxy_revalidations_total", "Tag revalidations (HEAD upstream after the ttl)."),
    digestMismatches: metrics.counter("berth_proxy_digest_mismatches_total", "Upstream manifests and blobs refused because their digest did not match.", typed),
  };
  for (const type of TYPES) {
    for (const counter of [series.requests, series.hits, series.misses, series.pulledBytes, series.digestMismatches]) counter.inc({ type }, 0);
  }
  series.staleServed.inc({}, 0);
  series.revalidations.inc({}, 0);
  return series;
}
