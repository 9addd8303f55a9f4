/** GC every `gc.interval` in `berth serve`: one run at a time, stopped at shutdown. */
import type { Logger } from "../log.ts";
import type { Registry } from "../registry/registry.ts";
import { GcRunningElsewhere } from "./collector.ts";

/** @returns stop: clears the timer and waits for a run in progress (before the index closes) */
export function scheduleGc(registry: Registry, intervalMs: number, log: Logger): () => Promise<void> {
  let running: Promise<void> | null = null;
  const tick = () => {
    running ??= runOnce().finally(() => {
      running = null;
    });
  };
  const runOnce = async () => {
    if (registry.readOnly) return; // maintenance: the next interval after it ends collects
    try {
      const report = await registry.collectGarbage();
      if (report.blobsDeleted > 0 || report.manifestsDeleted > 0 || report.errors.length > 0) {
        log("info", "garbage collected", {
          blobs: report.blobsDeleted, bytes: report.bytesFreed, manifests: report.manifestsDeleted, ms: report.durationMs, errors: report.errors.length,
        });
      }
    } catch (error) {
      if (error instanceof GcRunningElsewhere) return; // another replica collects this time
      log("error", "garbage collection failed", { error: String(error) });
    }
  };
  const timer = setInterval(tick, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
