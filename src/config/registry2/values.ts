/** Checked reads of registry:2 values: a wrong type names the registry:2 key. */
import { formatDuration, parseGoDuration } from "../duration.ts";
import { ConfigError } from "../errors.ts";
import { isTree, type Tree } from "../tree.ts";

export function wrongValue(key: string, expected: string, value: unknown): ConfigError {
  return new ConfigError(`Invalid registry:2 key "${key}": expected ${expected}; got ${JSON.stringify(value)}`);
}

export function asString(key: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw wrongValue(key, "a string", value);
}

export function asBoolean(key: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw wrongValue(key, "true or false", value);
}

export function asStrings(key: string, value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  throw wrongValue(key, "a list of strings", value);
}

export function asTree(key: string, value: unknown): Tree {
  if (value === null || value === undefined) return {};
  if (isTree(value)) return value;
  throw wrongValue(key, "a section of keys", value);
}

/** A Go duration ("168h", "1h30m") as a Berth duration ("7d", "90m"). */
export function asDuration(key: string, value: unknown): string {
  try {
    return formatDuration(parseGoDuration(value));
  } catch (error) {
    throw wrongValue(key, `a duration such as 10s or 168h (${(error as Error).message})`, value);
  }
}

/** `name: [values]` (registry:2's http.headers and endpoint headers) as name -> one string each. */
export function asHeaderValues(key: string, value: unknown): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(asTree(key, value))) headers[name] = asStrings(`${key}.${name}`, values);
  return headers;
}
