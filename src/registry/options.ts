/** How the facade is set up, and what its health check answers. */
import type { HealthChecks } from "../storage/driver.ts";

export interface RegistryOptions {
  deleteEnabled: boolean;
  /** gc.delay: how long an unreferenced blob waits (the index's review times) */
  gcDelayMs: number;
  /** gc.untagged: untagged manifests unpulled this long go at GC; null keeps them */
  gcUntaggedMs?: number | null;
}

export interface HealthReport {
  status: "ok" | "unhealthy";
  /** "read-only" while maintenance mode refuses changes (pulls go on) */
  mode: "read-write" | "read-only";
  checks: HealthChecks;
}

/** How a manifest push is checked beyond the spec's rules. */
export interface PutManifestOptions {
  /**
   * Store an index whose child manifests are not (yet) in the repository. Only the pull-through
   * cache sets it: it stores an index when it is pulled and each child when a client pulls that
   * one, so platforms nobody uses are never fetched from the upstream. Blobs are still checked.
   */
  childrenMayBeAbsent?: boolean;
}
