/**
 * The storage half of `berth migrate`: every shared object (objects.ts) of one driver written to
 * another through the StorageDriver contract, so any pair of drivers works (filesystem → S3 is
 * the usual one). Blob data is hashed while it is copied and refused when it is not the blob
 * its path names: a corrupt source blob never reaches the target.
 *
 * Idempotent and resumable: an object already at the target with the source's size is
 * skipped (a run that stopped part-way, or a second run, copies only what is missing); one of
 * another size (a copy a crash cut short) is replaced.
 */
import type { StorageDriver, WalkEntry } from "../storage/driver.ts";
import { forEachConcurrently } from "../util/concurrently.ts";
import { BlobVerifier, expectedDigest, MIGRATED_TREES } from "./objects.ts";

/** Objects up to this size are read whole and written with one atomic putContent. */
const WHOLE_OBJECT_BYTES = 4 * 1024 * 1024;
/** Copies in flight: an object store answers each after a round trip, so several overlap. */
const DEFAULT_CONCURRENCY = 8;

export interface StorageCopyReport {
  /** objects copied (with --dry-run: that would be) */
  copied: number;
  /** bytes in those objects */
  bytes: number;
  /** objects already at the target with the same size */
  skipped: number;
  /** one line per object that could not be copied (nothing of it is left at the target) */
  failures: string[];
}

export interface StorageCopyOptions {
  dryRun: boolean;
  concurrency?: number;
  /** each object copied, or that would be with dryRun */
  onObject?: (entry: WalkEntry) => void;
  /** after each object; `final` once at the end */
  progress?: (report: StorageCopyReport, final: boolean) => void;
}

export async function copyStorage(source: StorageDriver, target: StorageDriver, options: StorageCopyOptions): Promise<StorageCopyReport> {
  const report: StorageCopyReport = { copied: 0, bytes: 0, skipped: 0, failures: [] };
  for (const tree of MIGRATED_TREES) {
    // one listing of the target (an object store's list is 1,000 keys a request; a stat is one)
    const present = await sizesBelow(target, tree);
    await forEachConcurrently(source.walk(tree), options.concurrency ?? DEFAULT_CONCURRENCY, async (entry) => {
      const there = present.get(entry.path);
      if (there === entry.size) {
        report.skipped++;
      } else {
        try {
          if (!options.dryRun) await copyObject(source, target, entry, there !== undefined);
          report.copied++;
          report.bytes += entry.size;
          options.onObject?.(entry);
        } catch (error) {
          report.failures.push(error instanceof Error ? error.message : `${entry.path}: ${String(error)}`);
        }
      }
      options.progress?.(report, false);
    });
  }
  if (!options.dryRun) await target.sync();
  options.progress?.(report, true);
  return report;
}

async function sizesBelow(driver: StorageDriver, tree: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const entry of driver.walk(tree)) sizes.set(entry.path, entry.size);
  return sizes;
}

/**
 * Copies one object, verifying a blob's digest before it is kept.
 * @throws Error naming the path; nothing of the object is left at the target then
 */
async function copyObject(source: StorageDriver, target: StorageDriver, entry: WalkEntry, replace: boolean): Promise<void> {
  const expected = expectedDigest(entry.path);
  const verifier = expected === null ? null : new BlobVerifier(expected);
  try {
    // a writer appends to what is there: a shorter copy an interrupted run left goes first
    if (replace) await target.delete(entry.path);
    if (entry.size <= WHOLE_OBJECT_BYTES) {
      const bytes = await source.getContent(entry.path);
      verifier?.update(bytes);
      verifier?.check(entry.path);
      await target.putContent(entry.path, bytes, { durable: false }); // made durable by the sync at the end
      return;
    }
    await streamObject(source, target, entry.path, verifier);
  } catch (error) {
    throw new Error(error instanceof Error && error.message.startsWith(entry.path) ? error.message : `${entry.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

async function streamObject(source: StorageDriver, target: StorageDriver, path: string, verifier: BlobVerifier | null): Promise<void> {
  const writer = await target.writer(path);
  try {
    for await (const chunk of source.blob(path).stream()) {
      verifier?.update(chunk);
      await writer.write(chunk);
    }
    verifier?.check(path);
    await writer.commit();
  } catch (error) {
    await writer.cancel().catch(() => {});
    // the writer made the object when it opened: a refused blob must not stay, even empty
    await target.delete(path).catch(() => {});
    throw error;
  }
}
