/** One logger for the process: text or JSON lines on stdout (errors on stderr). */
import type { Config } from "./config/schema.ts";

export type LogLevel = "error" | "warn" | "info";
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2 };

export function createLogger(config: Config["log"]): Logger {
  return (level, message, fields = {}) => {
    if (RANK[level] > RANK[config.level]) return;
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
}
