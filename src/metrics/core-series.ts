/**
 * The registry's own series, read at scrape time from the metadata index (storage bytes, per
 * namespace and, under Zot's name, per repository; blobs, manifests, repositories, uploads in
 * progress) at most once every few seconds; GC runs counted as they finish; login failures and
 * throttled callers as the HTTP layer sees them; read-only mode.
 */
import type { MetadataIndex } from "../metadata/index.ts";
import { num, rowsOf } from "../metadata/rows.ts";
import type { Registry } from "../registry/registry.ts";
import type { SecurityCounts } from "../audit/http.ts";
import type { MetricsRegistry } from "./registry.ts";

/** Storage figures cost a few queries: a scrape within this long of the last reuses them. */
const STORAGE_TTL_MS = 10_000;

export function addCoreSeries(metrics: MetricsRegistry, registry: Registry, index: MetadataIndex): SecurityCounts {
  const bytes = metrics.gauge("berth_storage_bytes", "Bytes of every blob the metadata index knows (manifests, configs, layers, unreferenced ones).");
  const namespaceBytes = metrics.gauge("berth_namespace_storage_bytes", "Bytes referenced by the repositories of a namespace (first path component).", ["namespace"]);
  const repoBytes = metrics.gauge("zot_repo_storage_bytes", "Bytes referenced by a repository (Zot's name).", ["repo"]);
  const blobs = metrics.gauge("berth_blobs", "Blobs the metadata index knows.");
  const manifests = metrics.gauge("berth_manifests", "Manifests in every repository.");
  const repositories = metrics.gauge("berth_repositories", "Repositories.");
  const uploads = metrics.gauge("berth_uploads_in_progress", "Upload sessions started and not yet completed, cancelled or purged.");
  const gcWaiting = metrics.gauge("berth_gc_waiting_bytes", "Bytes of unreferenced blobs waiting for garbage collection.");
  const readOnly = metrics.gauge("berth_read_only", "1 while the registry is read-only for maintenance.");
  let storageAt = 0;
  metrics.beforeScrape(async () => {
    readOnly.set(registry.readOnly ? 1 : 0);
    if (Date.now() - storageAt < STORAGE_TTL_MS) return;
    const usage = await registry.usage();
    bytes.set(usage.storedBytes);
    blobs.set(usage.storedBlobs);
    uploads.set(usage.uploadsInProgress);
    gcWaiting.set(usage.gcWaitingBytes);
    namespaceBytes.reset();
    for (const entry of usage.namespaces) namespaceBytes.set(entry.size, { namespace: entry.name });
    repoBytes.reset();
    for (const entry of usage.repositories) repoBytes.set(entry.size, { repo: entry.name });
    repositories.set(usage.repositories.length);
    manifests.set(num(rowsOf(await index.database.sql`SELECT count(*) AS n FROM manifests`)[0] ?? { n: 0 }, "n"));
    storageAt = Date.now();
  });

  const gcRuns = metrics.counter("berth_gc_runs_total", "Garbage-collection runs (not dry runs).");
  const gcBlobs = metrics.counter("berth_gc_blobs_deleted_total", "Blobs deleted by garbage collection.");
  const gcBytes = metrics.counter("berth_gc_bytes_freed_total", "Bytes freed by garbage collection.");
  const gcManifests = metrics.counter("berth_gc_manifests_deleted_total", "Untagged manifests deleted by garbage collection.");
  registry.onGcRun((report) => {
    if (report.dryRun) return;
    gcRuns.inc();
    gcBlobs.inc({}, report.blobsDeleted);
    gcBytes.inc({}, report.bytesFreed);
    gcManifests.inc({}, report.manifestsDeleted);
  });

  const loginFailures = metrics.counter("berth_auth_login_failures_total", "Requests refused 401 although they carried credentials.");
  const throttled = metrics.counter("berth_auth_throttled_total", "Requests refused 429 after too many failed logins.");
  return { loginFailed: () => loginFailures.inc(), throttled: () => throttled.inc() };
}
