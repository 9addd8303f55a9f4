/** What `GET /api/v1/gc` shows: the last runs and the blobs waiting with their review time. */
import type { MetadataIndex } from "../metadata/index.ts";
import { lastRuns, waitingBlobs, waitingCount } from "./queries.ts";

const RUNS_SHOWN = 20;
const WAITING_SHOWN = 1000;

export interface GcStatus {
  runs: Array<{
    id: string;
    dryRun: boolean;
    startedAt: string;
    finishedAt: string | null;
    durationMs: number | null;
    blobsDeleted: number;
    bytesFreed: number;
    manifestsDeleted: number;
    error: string | null;
  }>;
  /** every blob in the queue, counted; the first WAITING_SHOWN listed, soonest first */
  waitingCount: number;
  waiting: Array<{ digest: string; size: number; reviewAt: string }>;
}

export async function gcStatus(index: MetadataIndex): Promise<GcStatus> {
  const sql = index.database.sql;
  const runs = (await lastRuns(sql, RUNS_SHOWN)).map((run) => ({
    id: run.id,
    dryRun: run.dryRun,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    durationMs: run.finishedAt === null ? null : run.finishedAt - run.startedAt,
    blobsDeleted: run.blobsDeleted,
    bytesFreed: run.bytesFreed,
    manifestsDeleted: run.manifestsDeleted,
    error: run.error,
  }));
  const waiting = (await waitingBlobs(sql, null, WAITING_SHOWN)).map((blob) => ({
    digest: blob.digest,
    size: blob.size,
    reviewAt: new Date(blob.reviewAt).toISOString(),
  }));
  return { runs, waitingCount: await waitingCount(sql), waiting };
}
