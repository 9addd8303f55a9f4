/**
 * TypeBox helpers shared by the configuration schema (src/config/) and the option sections of
 * built-in plugins: the duration type, and the one wording of a key that is unknown or wrong.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { DURATION_PATTERN } from "./duration.ts";

/** A duration key ("90s", "24h", "7d") with its default. */
export const Duration = (defaultValue: string, description: string) =>
  Type.String({ default: defaultValue, pattern: DURATION_PATTERN, description });

/** How a problem names its key. */
export interface KeyNaming {
  /** the key's name from its path in the checked value, e.g. ["endpoints", "0", "url"] */
  key(path: string[]): string;
  /** where the value came from, e.g. " in /etc/berth/registry.toml"; "" when unknown */
  where?: string;
}

export type CheckedConfig<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * `value` typed by `schema`, or the message for its first key that `schema` refuses.
 * @example checkConfig(schema, { http: { adr: "x" } }, { key: (path) => path.join(".") })
 *   // { ok: false, problem: 'Unknown config key "http.adr"' }
 */
export function checkConfig<T extends TSchema>(schema: T, value: unknown, naming: KeyNaming): CheckedConfig<Static<T>> {
  if (Value.Check(schema, value)) return { ok: true, value };
  return { ok: false, problem: firstProblem(schema, value, naming) };
}

function firstProblem(schema: TSchema, value: unknown, naming: KeyNaming): string {
  const first = Value.Errors(schema, value).First();
  if (!first) return `Invalid configuration${naming.where ?? ""}`;
  const key = naming.key(first.path === "" ? [] : first.path.slice(1).split("/"));
  const where = naming.where ?? "";
  if (first.message === "Unexpected property") return `Unknown config key "${key}"${where}`;
  const expected = first.schema.description ? ` (${first.schema.description})` : "";
  return invalidConfigKey(key, `${first.message}${expected}; got ${JSON.stringify(first.value)}`, where);
}

/** `Invalid config key "<key>"<where>: <problem>`, the wording every refused value uses. */
export function invalidConfigKey(key: string, problem: string, where = ""): string {
  return `Invalid config key "${key}"${where}: ${problem}`;
}
