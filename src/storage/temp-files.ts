/**
 * Temp files: every atomic write goes through a dot-file beside its target, renamed into place
 * when complete. A crash between the two leaves the dot-file behind; no listing ever returns
 * it, and the sweeper removes it once it is old enough that no writer can still own it.
 */
import { lstat, readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "../log.ts";

/** Older than this, a temp file belongs to no write in progress (writes take seconds). */
export const TEMP_FILE_MAX_AGE_MS = 60 * 60 * 1000;

let tempCounter = 0;

/** `.<name>.tmp-<pid>-<n>`: a dot-file, so no lister of the layout ever sees it. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${++tempCounter}`);
}

// The driver's names, and writeFileAtomic's (`.<name>.<pid>.<ms>.tmp`, the token key).
const TEMP_NAMES = [/^\..+\.tmp-\d+-\d+$/, /^\..+\.\d+\.\d+\.tmp$/];

export function isTempFileName(name: string): boolean {
  return TEMP_NAMES.some((pattern) => pattern.test(name));
}

export interface SweepOptions {
  /** directories to walk (absolute); absent ones are skipped */
  directories: string[];
  /** temp files last modified before this are candidates */
  cutoff: Date;
  /** true for a temp file this process is writing now */
  isWriting(path: string): boolean;
}

/**
 * Removes stale temp files below `directories`: older than the cutoff and not being written by
 * this process, the only writer of the root (root-lock.ts). The PID in a name is not trusted:
 * after a restart in a container, Berth often has the same PID as the process that crashed.
 * Symbolic links are not followed.
 * @returns how many were removed
 */
export async function sweepTempFiles({ directories, cutoff, isWriting }: SweepOptions): Promise<number> {
  let removed = 0;
  const pending = [...directories];
  while (pending.length > 0) {
    const directory = pending.pop() as string;
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      continue; // gone meanwhile, or unreadable: nothing of ours to sweep there
    }
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
        continue;
      }
      if (!entry.isFile() || !isTempFileName(entry.name) || isWriting(path)) continue;
      try {
        if ((await lstat(path)).mtime >= cutoff) continue;
        await rm(path, { force: true });
        removed++;
      } catch {
        // removed meanwhile (renamed into place, or by another sweep)
      }
    }
  }
  return removed;
}

/** Sweeps now, then every `intervalMs` (never two at once); returns a function that stops it. */
export function scheduleTempSweep(sweep: () => Promise<number>, intervalMs: number, log: Logger): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const count = await sweep();
      if (count > 0) log("info", "removed stale temp files", { count });
    } catch (error) {
      log("error", "temp file sweep failed", { error: String(error) });
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(run, intervalMs);
  return () => clearInterval(timer);
}
