/**
 * Loads the configuration: defaults from the schema, then registry.toml (smol-toml), then
 * BERTH_* environment variables (BERTH_HTTP_ADDR for http.addr, BERTH_STORAGE_UPLOADS_PURGE_AFTER
 * for storage.uploads.purge_after, ...). Errors name the key and what was expected.
 */
import { existsSync, readFileSync } from "node:fs";
import { type TObject, type TSchema, Kind } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parse as parseToml } from "smol-toml";
import { type Config, ConfigSchema } from "./schema.ts";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Tree = Record<string, unknown>;

export interface LoadOptions {
  /** explicit --config path; must exist */
  path?: string;
  env?: Record<string, string | undefined>;
}

/** Where the configuration came from: --config, $BERTH_CONFIG, ./registry.toml, or defaults. */
export function configPath(options: LoadOptions): string | null {
  const env = options.env ?? process.env;
  if (options.path) return options.path;
  if (env.BERTH_CONFIG) return env.BERTH_CONFIG;
  return existsSync("registry.toml") ? "registry.toml" : null;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const path = configPath(options);
  let tree: Tree = {};
  if (path !== null) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new ConfigError(`Cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    try {
      tree = parseToml(text) as Tree;
    } catch (error) {
      throw new ConfigError(`Config file ${path} is not valid TOML: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  applyEnvironment(ConfigSchema, tree, [], env);
  const config = Value.Default(ConfigSchema, tree);
  const first = Value.Errors(ConfigSchema, config).First();
  if (first) {
    const key = first.path.replace(/^\//, "").replaceAll("/", ".") || "(top level)";
    const where = path ? ` in ${path}` : "";
    if (first.message === "Unexpected property") throw new ConfigError(`Unknown config key "${key}"${where}`);
    const expected = first.schema.description ? ` (${first.schema.description})` : "";
    throw new ConfigError(`Invalid config key "${key}"${where}: ${first.message}${expected}; got ${JSON.stringify(first.value)}`);
  }
  return config as Config;
}

/** Sets tree values from BERTH_<SECTION>_<KEY> variables, converted to the schema's types. */
function applyEnvironment(schema: TObject, tree: Tree, path: string[], env: Record<string, string | undefined>): void {
  for (const [key, child] of Object.entries(schema.properties) as Array<[string, TSchema]>) {
    const childPath = [...path, key];
    if (child[Kind] === "Object") {
      const existing = tree[key];
      const subtree: Tree = typeof existing === "object" && existing !== null ? (existing as Tree) : {};
      applyEnvironment(child as TObject, subtree, childPath, env);
      if (Object.keys(subtree).length > 0 || existing !== undefined) tree[key] = subtree;
      continue;
    }
    const variable = `BERTH_${childPath.join("_").toUpperCase()}`;
    const raw = env[variable];
    if (raw === undefined) continue;
    tree[key] = convert(raw, child, variable);
  }
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
