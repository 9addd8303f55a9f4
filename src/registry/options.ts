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
