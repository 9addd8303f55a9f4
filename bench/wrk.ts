/**
 * Runs Debian's wrk for GET rows and parses its --latency report.
 *
 * wrk 4.1 cannot do HEAD (its parser waits for a body of Content-Length bytes that never
 * comes), so HEAD rows always use the raw Bun client (rawload.ts).
 */
import { exec } from "./exec.ts";

export interface WrkSpec {
  url: string;
  headers: Record<string, string>;
  connections: number;
  threads: number;
  durationSec: number;
}

export interface WrkResult {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  durationSec: number;
  /** CPU seconds wrk itself used */
  cpuSec: number;
}

/** wrk's path and version line, or null if it is not installed. */
export function wrkVersion(): string | null {
  const path = Bun.which("wrk");
  if (!path) return null;
  // wrk --version prints its banner and exits with 1
  const out = Bun.spawnSync([path, "--version"], { stdin: "ignore", timeout: 5000 });
  const line = `${out.stdout.toString()}${out.stderr.toString()}`.split("\n")[0]?.trim();
  return line || path;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value: string | undefined, unit: string | undefined): number {
  return Number(value) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
}

/** Parses wrk's text report (with --latency). */
export function parseWrk(text: string): Omit<WrkResult, "cpuSec"> {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(text);
  if (!total) throw new Error(`cannot parse wrk output:\n${text}`);
  const p50 = /^\s*50%\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xxCount = Number(non2xx?.[1] ?? 0);
  return {
    requests: Number(total[1]) - non2xxCount,
    errors: non2xxCount + socketErrors,
    p50Ms: toMs(p50?.[1], p50?.[2]),
    p99Ms: toMs(p99?.[1], p99?.[2]),
    durationSec: toMs(total[2], total[3]) / 1000,
  };
}

export async function runWrk(spec: WrkSpec): Promise<WrkResult> {
  const args = [
    "wrk",
    `-t${Math.max(1, Math.min(spec.threads, spec.connections))}`,
    `-c${spec.connections}`,
    `-d${Math.max(1, Math.round(spec.durationSec))}s`,
    "--timeout",
    "10s",
    "--latency",
  ];
  for (const [name, value] of Object.entries(spec.headers)) args.push("-H", `${name}: ${value}`);
  args.push(spec.url);
  const result = await exec(args, { timeoutMs: spec.durationSec * 1000 + 30_000 });
  if (result.code !== 0) throw new Error(`wrk exited with ${result.code}: ${result.stderr}${result.stdout}`);
  return { ...parseWrk(result.stdout), cpuSec: result.cpuSec };
}
