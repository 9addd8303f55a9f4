/**
 * Process and build series under the names every Prometheus client library uses
 * (process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, …), read
 * from /proc where there is one, and berth_build_info.
 */
import { readdirSync, readFileSync } from "node:fs";
import { VERSION } from "../version.ts";
import type { MetricsRegistry } from "./registry.ts";

export function addProcessSeries(metrics: MetricsRegistry): void {
  const cpu = metrics.sampledCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  const resident = metrics.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  const heap = metrics.gauge("process_heap_bytes", "JavaScript heap in use, in bytes.");
  const openFds = metrics.gauge("process_open_fds", "Number of open file descriptors.");
  const maxFds = metrics.gauge("process_max_fds", "Maximum number of open file descriptors.");
  const start = metrics.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  const build = metrics.gauge("berth_build_info", "Berth's version and the Bun it runs on; always 1.", ["version", "bun"]);
  start.set(Math.round((Date.now() - performance.now()) / 10) / 100);
  build.set(1, { version: VERSION, bun: Bun.version });
  const limit = maxOpenFiles();
  if (limit !== null) maxFds.set(limit);
  metrics.beforeScrape(() => {
    const usage = process.cpuUsage();
    cpu.set((usage.user + usage.system) / 1e6);
    const memory = process.memoryUsage();
    resident.set(memory.rss);
    heap.set(memory.heapUsed);
    const fds = openFileCount();
    if (fds !== null) openFds.set(fds);
  });
}

function openFileCount(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null;
  }
}

function maxOpenFiles(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}
