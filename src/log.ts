/** One logger for the process: text or JSON lines on stdout (errors on stderr). */
import type { Config } from "./config/schema.ts";

export type LogLevel = "error" | "warn" | "info";

export interface Logger {
  (level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /**
   * False when lines of `level` are filtered out, so a caller on a hot path can skip building
   * their fields. A logger without it (tests' own) writes everything.
   */
  enabled?: (level: LogLevel) => boolean;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2 };

export function createLogger(config: Config["log"]): Logger {
  const enabled = (level: LogLevel) => RANK[level] <= RANK[config.level];
  const log: Logger = (level, message, fields = {}) => {
    if (!enabled(level)) return;
    const time = new Date().toISOString();
    const line =
      config.format === "json"
        ? JSON.stringify({ time, level, msg: message, ...fields })
        : `${time} ${level.toUpperCase()} ${message}${Object.entries(fields)
            // an empty field says nothing and reads as a parse error (`actor=`)
            .filter(([, v]) => v !== undefined && v !== "")
            .map(([k, v]) => ` ${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
            .join("")}`;
    (level === "error" ? process.stderr : process.stdout).write(line + "\n");
  };
  log.enabled = enabled;
  return log;
}

/** True unless `log` says lines of `level` are filtered out. */
export function logs(log: Logger, level: LogLevel): boolean {
  return log.enabled?.(level) ?? true;
}
