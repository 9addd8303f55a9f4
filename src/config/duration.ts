/** Durations as Berth writes them ("90s", "24h", "7d") and as Go (registry:2) writes them. */
import { Type } from "@sinclair/typebox";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** A duration key of the configuration schema. */
export const Duration = (defaultValue: string, description: string) =>
  Type.String({ default: defaultValue, pattern: "^\\d+(ms|s|m|h|d)$", description });

/** Milliseconds in a duration such as "90s", "24h" or "7d". @throws RangeError */
export function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new RangeError(`Cannot parse duration "${value}"`);
  return Number(match[1]) * UNIT_MS[match[2] as Unit];
}

/** The shortest Berth duration for a whole number of milliseconds ("168h" -> "7d"). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms > 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.round(ms)}ms`;
}

const GO_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds in a Go duration ("168h", "1h30m", "2.5s", "500ms"); a bare number is taken as
 * nanoseconds, as Go's YAML decoder does for time.Duration. @throws RangeError
 */
export function parseGoDuration(value: unknown): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value / 1e6;
  const text = String(value).trim();
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new RangeError(`Cannot parse duration "${text}" (expected e.g. 10s, 5m, 168h)`);
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * (GO_UNIT_MS[match[2] as string] ?? 0);
  return total;
}
