/**
 * Durations in the configuration: Berth's own ("90s", "24h", "7d", src/util/duration.ts) and
 * Go's as registry:2 writes them ("1h30m", "2.5s"), for the registry:2 translation.
 */
export { formatDuration, parseDuration } from "../util/duration.ts";
export { Duration } from "../util/config-schema.ts";

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
