/**
 * Durations as Berth writes them ("90s", "24h", "7d"): parsed and formatted without any
 * dependency, so the configuration and built-in plugins share one definition.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** What a duration looks like: a whole number and one unit of ms, s, m, h or d. */
export const DURATION_PATTERN = "^\\d+(ms|s|m|h|d)$";

/**
 * Milliseconds in a duration such as "90s", "24h" or "7d".
 * @throws RangeError for anything else, e.g. `Cannot parse duration "1y"`
 * @example parseDuration("90s") // 90_000
 */
export function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new RangeError(`Cannot parse duration "${value}"`);
  return Number(match[1]) * UNIT_MS[match[2] as Unit];
}

/**
 * The shortest duration for a whole number of milliseconds.
 * @example formatDuration(604_800_000) // "7d"
 */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms > 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.round(ms)}ms`;
}
