/**
 * Statistics and /proc sampling: latency percentiles, process CPU seconds, peak RSS, and the
 * wrapper that turns one measured phase into a Measurement.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Bottleneck, LoadTool, Measurement } from "./types.ts";

export const MB = 1_000_000;

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

let clockTicks: number | undefined;
/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    const parsed = Number.parseInt(out, 10);
    clockTicks = Number.isFinite(parsed) && parsed > 0 ? parsed : 100;
  }
  return clockTicks;
}

/** utime+stime of every thread of a process (exited ones too), in seconds; NaN if it is gone. */
export function processCpuSec(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces or parentheses: fields are counted from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clkTck();
  } catch {
    return Number.NaN;
  }
}

/**
 * On-CPU time of the live threads of a process from /proc/<pid>/task/<tid>/schedstat, in
 * seconds with nanosecond resolution; NaN if unavailable. Threads that have exited are missing.
 */
export function threadsCpuSec(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
    return Number.isFinite(ns) ? ns / 1e9 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A point to measure a process's CPU from: both counters, see cpuSince. */
export interface CpuMark {
  ticks: number;
  precise: number;
}

export function cpuMark(pid: number): CpuMark {
  return { ticks: processCpuSec(pid), precise: threadsCpuSec(pid) };
}

/**
 * CPU seconds since `mark`: the nanosecond schedstat sum, unless the tick count (10 ms
 * resolution, but it keeps exited threads) is clearly larger, i.e. a thread went away.
 */
export function cpuSince(pid: number, mark: CpuMark): number {
  const now = cpuMark(pid);
  const ticks = now.ticks - mark.ticks;
  const precise = now.precise - mark.precise;
  if (!Number.isFinite(precise)) return ticks;
  return ticks > precise + 2 / clkTck() ? ticks : precise;
}

/** CPU of this (load generator) process, all threads, in seconds with microsecond resolution. */
export function selfCpuSec(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** A "VmXXX:   1234 kB" line of /proc/<pid>/status, in bytes; NaN if absent. */
export function statusBytes(pid: number, key: "VmRSS" | "VmHWM"): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false if not permitted. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Watches one process during a phase: CPU seconds from /proc before and after (cpuSince),
 * peak RSS from VmHWM (reset at start) and from VmRSS sampled every `intervalMs` as a fallback.
 */
export class ProcMonitor {
  private cpuStart: CpuMark = { ticks: 0, precise: 0 };
  private sampledPeak = 0;
  private hwmReset = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.hwmReset = resetPeakRss(this.pid);
    this.cpuStart = cpuMark(this.pid);
    this.sampledPeak = statusBytes(this.pid, "VmRSS") || 0;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    const rss = statusBytes(this.pid, "VmRSS");
    if (rss > this.sampledPeak) this.sampledPeak = rss;
  }

  stop(): { cpuSec: number; peakRssBytes: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const cpuSec = cpuSince(this.pid, this.cpuStart);
    const hwm = this.hwmReset ? statusBytes(this.pid, "VmHWM") : Number.NaN;
    const peakRssBytes = Number.isFinite(hwm) ? Math.max(hwm, this.sampledPeak) : this.sampledPeak;
    return { cpuSec, peakRssBytes };
  }
}

/** What a workload's measured phase reports back; runPhase adds time, CPU and RSS. */
export interface PhaseOutcome {
  ops: number;
  bytes: number;
  /** per-operation latencies; or give p50Ms/p99Ms directly (wrk) */
  latenciesMs?: number[];
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  tool: LoadTool;
  /** CPU of helper processes that generated load (wrk, docker CLI, dockerd) */
  childCpuSec?: number;
  /** how many cores the load generator can use at most (1 for the Bun event loop) */
  clientCoreCap: number;
  note?: string;
}

/** Runs `fn` while watching the server process and this process; returns a Measurement. */
export async function runPhase(serverPid: number, fn: () => Promise<PhaseOutcome>): Promise<Measurement> {
  const monitor = new ProcMonitor(serverPid);
  const selfStart = selfCpuSec();
  monitor.start();
  const t0 = performance.now();
  let outcome: PhaseOutcome;
  try {
    outcome = await fn();
  } catch (error) {
    monitor.stop(); // stop sampling even when the workload throws
    throw error;
  }
  const server = monitor.stop();
  const wallSec = (performance.now() - t0) / 1000;
  const clientCpuSec = selfCpuSec() - selfStart + (outcome.childCpuSec ?? 0);
  return toMeasurement(outcome, wallSec, server.cpuSec, server.peakRssBytes, clientCpuSec);
}

export function toMeasurement(
  outcome: PhaseOutcome,
  wallSec: number,
  serverCpuSec: number,
  serverPeakRssBytes: number,
  clientCpuSec: number,
): Measurement {
  const sorted = outcome.latenciesMs ? [...outcome.latenciesMs].sort((a, b) => a - b) : [];
  const { bottleneck, text } = classify(clientCpuSec, serverCpuSec, wallSec, outcome.clientCoreCap);
  const notes = [outcome.note, text, outcome.errors > 0 ? `${outcome.errors} errors` : undefined];
  return {
    ops: outcome.ops,
    bytes: outcome.bytes,
    wallSec,
    opsPerSec: outcome.ops / wallSec,
    mbPerSec: outcome.bytes / MB / wallSec,
    p50Ms: outcome.p50Ms ?? percentile(sorted, 50),
    p99Ms: outcome.p99Ms ?? percentile(sorted, 99),
    serverCpuSec,
    serverPeakRssMb: serverPeakRssBytes / MB,
    clientCpuSec,
    errors: outcome.errors,
    tool: outcome.tool,
    bottleneck,
    note: notes.filter((n): n is string => Boolean(n)).join("; "),
  };
}

/**
 * Who was the limit? Client and server share the machine's cores, so a load generator that
 * sits at its own ceiling (one core for the Bun event loop) caps what the server can show.
 */
export function classify(
  clientCpuSec: number,
  serverCpuSec: number,
  wallSec: number,
  clientCoreCap: number,
): { bottleneck: Bottleneck; text: string } {
  if (!Number.isFinite(clientCpuSec) || !Number.isFinite(serverCpuSec) || wallSec <= 0) {
    return { bottleneck: "io-or-latency", text: "" };
  }
  const cores = availableParallelism();
  const client = clientCpuSec / wallSec;
  const server = serverCpuSec / wallSec;
  const usage = `client ${client.toFixed(2)} / server ${server.toFixed(2)} cores`;
  const clientSaturated = client >= 0.85 * Math.min(clientCoreCap, cores);
  const machineFull = client + server >= 0.85 * cores;
  if (clientSaturated && client >= server) {
    return { bottleneck: "client", text: `${usage}: load generator is the limit` };
  }
  if (machineFull) {
    const who = client > server ? "load generator uses more" : "server uses more";
    return { bottleneck: "shared-cpu", text: `${usage}: both CPUs busy, ${who}` };
  }
  if (server >= 0.85) return { bottleneck: "server", text: `${usage}: server-bound` };
  return { bottleneck: "io-or-latency", text: usage };
}
