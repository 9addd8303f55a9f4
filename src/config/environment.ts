/**
 * BERTH_* variables: BERTH_<SECTION>_<KEY> in capitals sets that key (BERTH_HTTP_ADDR for
 * http.addr), converted to the schema's type. A BERTH_ variable that names no key stops
 * start-up with the nearest name, so a typo never passes silently.
 */
import { Kind, type TObject, type TSchema } from "@sinclair/typebox";
import { ConfigError } from "./errors.ts";
import { setPath, type Tree } from "./tree.ts";

/** Variables that are not keys of the configuration. */
// BERTH_TEST_CLOCK=1: the retention plugin takes ?now= on run and restore too (tests; docs/retention.md)
const OTHER_VARIABLES = ["BERTH_CONFIG", "BERTH_TEST_CLOCK"];

interface Variable {
  name: string;
  key: string;
  schema: TSchema;
}

/** Every variable the schema defines: one per scalar key and per list of scalars. */
export function schemaVariables(schema: TObject, path: string[] = []): Variable[] {
  return Object.entries(schema.properties).flatMap(([key, child]: [string, TSchema]) => {
    const childPath = [...path, key];
    if (child[Kind] === "Object") return schemaVariables(child as TObject, childPath);
    if (child[Kind] === "Record" || (child[Kind] === "Array" && child.items?.[Kind] === "Object")) return [];
    return [{ name: `BERTH_${childPath.join("_").toUpperCase()}`, key: childPath.join("."), schema: child }];
  });
}

/** The tree of values set by BERTH_* variables. @throws ConfigError naming the variable */
export function berthEnvironment(schema: TObject, env: Record<string, string | undefined>): Tree {
  const variables = schemaVariables(schema);
  const byName = new Map(variables.map((variable) => [variable.name, variable]));
  const tree: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("BERTH_") || raw === undefined || OTHER_VARIABLES.includes(name)) continue;
    const variable = byName.get(name);
    if (variable === undefined) {
      const nearest = closest(name, [...byName.keys(), ...OTHER_VARIABLES]);
      throw new ConfigError(`Unknown variable ${name}${nearest ? ` (did you mean ${nearest}?)` : ""}`);
    }
    setPath(tree, variable.key, convert(raw, variable.schema, name));
  }
  return tree;
}

function convert(raw: string, schema: TSchema, variable: string): unknown {
  switch (schema[Kind]) {
    case "Boolean":
      if (raw === "true" || raw === "false") return raw === "true";
      throw new ConfigError(`Environment variable ${variable} must be true or false; got "${raw}"`);
    case "Integer":
    case "Number":
      if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
      throw new ConfigError(`Environment variable ${variable} must be a number; got "${raw}"`);
    case "Array":
      return raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
    default:
      return raw;
  }
}

/** The candidate nearest to `name` by edit distance, when it is near enough to be a typo. */
function closest(name: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(3, Math.floor(name.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
