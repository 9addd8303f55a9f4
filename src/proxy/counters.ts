/** What the pull-through cache counts, shown by GET /api/v1/proxy. */
export interface ProxyCounters {
  /** answers fetched from an upstream (manifests and blobs) */
  upstreamFetches: number;
  /** tag revalidations (HEAD) */
  revalidations: number;
  /** cached content served because the upstream was down, slow or refusing */
  servedStale: number;
  /** misses that failed because no upstream answered (502) */
  upstreamFailures: number;
  /** upstream blobs and manifests refused for a wrong digest */
  digestMismatches: number;
}

export function newCounters(): ProxyCounters {
  return { upstreamFetches: 0, revalidations: 0, servedStale: 0, upstreamFailures: 0, digestMismatches: 0 };
}
