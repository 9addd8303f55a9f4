/**
 * The configuration as `berth config check` may print it: secrets replaced by "<redacted>".
 * A secret is any key named secret, password, passwd, token or secret_key (or ending in _secret, ...), and
 * every value of a webhook endpoint's headers (they usually carry credentials).
 */
import { isTree } from "./tree.ts";

export const REDACTED = "<redacted>";

const SECRET_NAME = /(^|_)(secret|password|passwd|token|secret_key)$/i;

export function redactConfig(value: unknown): unknown {
  return redact(value, []);
}

function redact(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => redact(item, path));
  if (!isTree(value)) {
    const name = path[path.length - 1] ?? "";
    const underHeaders = path.length >= 2 && path[path.length - 2] === "headers" && path[0] === "webhook";
    return (SECRET_NAME.test(name) || underHeaders) && value !== "" && value !== null ? REDACTED : value;
  }
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redact(child, [...path, key])]));
}
