/**
 * One garbage-collection run, online: untagged manifests first (when `gc.untagged` is set),
 * through the registry's own delete so hooks and events apply and their blobs are queued;
 * then every blob whose review time has come.
 *
 * A blob goes only under its exclusive lock (blob-locks.ts), after checking again in the index
 * that nothing references it and that its review was not pushed back: an upload, a mount or a
 * manifest push holds the blob shared from its check to its index record, so none of them can
 * see the blob present and then find it gone. The tree change is journaled (scope "" + digest)
 * so a crash half-way is settled from the tree at the next start.
 */
import type { MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { isReferenced } from "../metadata/writes.ts";
import { parseDigest } from "../oci/digest.ts";
import type { BlobLocks } from "../registry/blob-locks.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { forEachConcurrently } from "../util/concurrently.ts";
import { recordRunEnd, recordRunStart, repositoriesLinking, stillDue, type UntaggedManifest, untaggedManifests, waitingBlobs } from "./queries.ts";

/** At most this many blobs per run: the next run takes the rest. */
const MAX_BLOBS_PER_RUN = 100_000;
/** Deletions at once: each ends with a flush of the storage, which concurrent ones share. */
const AT_ONCE = 16;

export interface GcOptions {
  dryRun?: boolean;
  /** told of each blob and manifest as it goes (the CLI's progress) */
  progress?: (event: GcProgress) => void;
}

export type GcProgress =
  | { kind: "manifest"; repository: string; digest: string }
  | { kind: "blob"; digest: string; size: number };

export interface GcReport {
  id: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  blobsDeleted: number;
  bytesFreed: number;
  manifestsDeleted: number;
  /** what went (or, in a dry run, would go) */
  blobs: Array<{ digest: string; size: number }>;
  manifests: UntaggedManifest[];
  /** manifests or blobs that could not be deleted, with why; the next run tries again */
  errors: string[];
}

export interface CollectorDeps {
  driver: StorageDriver;
  index: MetadataIndex;
  tree: TreeReader;
  blobLocks: BlobLocks;
  /** gc.untagged: null keeps untagged manifests */
  untaggedMs: number | null;
  /** the registry's delete by digest (hooks, events, journal) */
  deleteManifest: (repository: string, digest: string) => Promise<void>;
}

/** Another replica holds the GC lease (src/cluster/leases.ts). */
export class GcRunningElsewhere extends Error {
  constructor(readonly holder: string) {
    super(`garbage collection is running on replica ${holder}; try again when it ends`);
  }
}

export class GarbageCollector {
  /** runs never overlap: a second caller waits for the first */
  private queue: Promise<unknown> = Promise.resolve();
  private active = false;

  constructor(private readonly deps: CollectorDeps) {}

  get running(): boolean {
    return this.active;
  }

  /**
   * Waits for a run in progress, then keeps any other from starting until `release` is called
   * (a backup's point in time: no blob it lists may go meanwhile).
   */
  async hold(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const reached = this.queue.then(() => undefined);
    this.queue = reached.then(() => released);
    await reached;
    return release;
  }

  run(options: GcOptions = {}): Promise<GcReport> {
    const next = this.queue.then(() => this.runNow(options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow({ dryRun = false, progress }: GcOptions): Promise<GcReport> {
    this.active = true;
    const id = crypto.randomUUID();
    const started = Date.now();
    const report: GcReport = {
      id, dryRun, startedAt: new Date(started).toISOString(), finishedAt: "", durationMs: 0,
      blobsDeleted: 0, bytesFreed: 0, manifestsDeleted: 0, blobs: [], manifests: [], errors: [],
    };
    let failure: string | null = null;
    try {
      await this.deps.index.database.write((tx) => recordRunStart(tx, id, started, dryRun));
      await this.collectManifests(report, dryRun, progress);
      await this.collectBlobs(report, dryRun, progress);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      const finished = Date.now();
      report.finishedAt = new Date(finished).toISOString();
      report.durationMs = finished - started;
      const row = { id, finishedAt: finished, blobsDeleted: report.blobsDeleted, bytesFreed: report.bytesFreed, manifestsDeleted: report.manifestsDeleted, error: failure ?? (report.errors[0] ?? null) };
      await this.deps.index.database.write((tx) => recordRunEnd(tx, row)).catch(() => undefined);
      this.active = false;
    }
    return report;
  }

  private async collectManifests(report: GcReport, dryRun: boolean, progress: GcOptions["progress"]): Promise<void> {
    if (this.deps.untaggedMs === null) return;
    await this.deps.index.flushPulls(); // a pull gathered in memory keeps its manifest too
    const candidates = await untaggedManifests(this.deps.index.database.sql, Date.now() - this.deps.untaggedMs);
    await forEachConcurrently(candidates, AT_ONCE, async (manifest) => {
      if (!dryRun) {
        try {
          await this.deps.deleteManifest(manifest.repository, manifest.digest);
        } catch (error) {
          report.errors.push(`manifest ${manifest.repository}@${manifest.digest}: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
      }
      report.manifests.push(manifest);
      report.manifestsDeleted++;
      progress?.({ kind: "manifest", ...manifest });
    });
  }

  private async collectBlobs(report: GcReport, dryRun: boolean, progress: GcOptions["progress"]): Promise<void> {
    const now = Date.now();
    const due = await waitingBlobs(this.deps.index.database.sql, now, MAX_BLOBS_PER_RUN);
    await forEachConcurrently(due, AT_ONCE, async (blob) => {
      let freed: number | null;
      try {
        const collect = () => this.collectBlob(blob.digest, now, dryRun);
        // a dry run claims nothing: other replicas' pushes need not wait for it
        freed = dryRun ? await this.deps.blobLocks.exclusive(blob.digest, collect) : await this.deps.blobLocks.forDeletion(blob.digest, now, collect);
      } catch (error) {
        report.errors.push(`blob ${blob.digest}: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      if (freed === null) return;
      report.blobs.push({ digest: blob.digest, size: freed });
      report.blobsDeleted++;
      report.bytesFreed += freed;
      progress?.({ kind: "blob", digest: blob.digest, size: freed });
    });
  }

  /** Under the blob's exclusive lock. @returns the bytes freed, or null when the blob stays */
  private async collectBlob(digest: string, now: number, dryRun: boolean): Promise<number | null> {
    const { index, tree, driver } = this.deps;
    const sql = index.database.sql;
    if (!(await stillDue(sql, digest, now)) || (await isReferenced(sql, digest))) return null;
    const parsed = parseDigest(digest);
    const size = await tree.blobSize(parsed);
    if (dryRun) return size ?? 0;
    const repositories = await repositoriesLinking(sql, digest);
    const scope = { repository: "", digest, tag: null };
    await index.change(
      scope,
      tree,
      async () => {
        // links first: a crash between leaves data without links, which reconcile queues again
        for (const repository of repositories) await driver.delete(paths.layerLinkDir(repository, parsed));
        await driver.delete(paths.blobDir(parsed));
      },
      async (tx) => {
        await tx`DELETE FROM repository_blobs WHERE digest = ${digest}`;
        await tx`DELETE FROM blobs WHERE digest = ${digest}`;
      },
    );
    return size ?? 0;
  }
}
