/**
 * Loads the configuration, each layer over the one before: the schema's defaults, the file
 * (Berth's registry.toml, or registry:2's config.yml translated), REGISTRY_* variables (as
 * registry:2 reads them), then BERTH_* variables. Paths come out absolute (paths.ts), and the
 * resolved form (resolve.ts) is built here, once. Errors name the key or variable and what was
 * expected.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { parse as parseToml } from "smol-toml";
import { berthEnvironment } from "./environment.ts";
import { ConfigError, type ConfigNote } from "./errors.ts";
import { resolvePaths } from "./paths.ts";
import { type ResolvedConfig, resolveConfig, storageDriverNotes } from "./resolve.ts";
import { registry2Environment, resolveRegistry2Paths, translateRegistry2, translateRegistry2File } from "./registry2/translate.ts";
import { type Config, ConfigSchema } from "./schema.ts";
import { isTree, mergeTrees, type Tree } from "./tree.ts";
import { checkConfig } from "../util/config-schema.ts";

export { ConfigError } from "./errors.ts";
export type { ConfigNote } from "./errors.ts";
export type { ResolvedConfig } from "./resolve.ts";

export interface LoadOptions {
  /** explicit --config path; must exist */
  path?: string;
  env?: Record<string, string | undefined>;
  /** the directory relative paths from variables and defaults are resolved against */
  cwd?: string;
}

export interface LoadedConfig {
  /** the validated configuration as written (with defaults): what `config check` prints */
  config: Config;
  /** the same, resolved (ms, normalised URL): what the rest of Berth reads */
  resolved: ResolvedConfig;
  /** the file read (absolute), or null for built-in defaults */
  file: string | null;
  format: ConfigFormat | null;
  /** what start-up should tell the operator (registry:2 keys without effect, ignored variables) */
  notes: ConfigNote[];
}

export type ConfigFormat = "toml" | "registry2";

/** Where the configuration comes from: --config, $BERTH_CONFIG, $REGISTRY_CONFIGURATION_PATH, ./registry.toml, or none. */
export function configPath(options: LoadOptions): string | null {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const chosen = options.path || env.BERTH_CONFIG || env.REGISTRY_CONFIGURATION_PATH;
  if (chosen) return resolve(cwd, chosen);
  const local = resolve(cwd, "registry.toml");
  return existsSync(local) ? local : null;
}

export function loadConfig(options: LoadOptions = {}): Config {
  return loadConfiguration(options).config;
}

export function loadConfiguration(options: LoadOptions = {}): LoadedConfig {
  return loadFrom(configPath(options), options);
}

/**
 * Loads again from the file the running configuration came from (SIGHUP): where the
 * configuration lives is decided once, at start, so a registry.toml created since is not taken.
 */
export function reloadConfiguration(running: Pick<LoadedConfig, "file">, options: Omit<LoadOptions, "path"> = {}): LoadedConfig {
  return loadFrom(running.file, options);
}

function loadFrom(file: string | null, options: LoadOptions): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const notes: ConfigNote[] = [];
  let tree: Tree = {};
  let registry2: Tree = {};
  let format: ConfigFormat | null = null;
  if (file !== null) {
    const parsed = readConfigFile(file);
    format = parsed.format;
    if (parsed.format === "toml") tree = resolvePaths(parsed.tree, dirname(file));
    else registry2 = resolveRegistry2Paths(parsed.tree, dirname(file));
  }
  const fromRegistryVariables = registry2Environment(env);
  notes.push(...fromRegistryVariables.notes);
  registry2 = mergeTrees(registry2, resolveRegistry2Paths(fromRegistryVariables.tree, cwd));
  if (Object.keys(registry2).length > 0) {
    const translated = format === "registry2" ? translateRegistry2File(registry2) : translateRegistry2(registry2);
    notes.push(...translated.notes);
    tree = mergeTrees(tree, translated.tree);
  }
  tree = mergeTrees(tree, resolvePaths(berthEnvironment(ConfigSchema, env), cwd));
  const checked = checkConfig(ConfigSchema, Value.Default(ConfigSchema, tree), { key: (path) => path.join(".") || "(top level)", where: file ? ` in ${file}` : "" });
  if (!checked.ok) throw new ConfigError(checked.problem);
  // defaults such as storage.root = "./data" are relative to the working directory
  const valid = resolvePaths(checked.value, cwd);
  notes.push(...storageDriverNotes(valid.storage.driver));
  return { config: valid, resolved: resolveConfig(valid), file, format, notes };
}

/** Reads TOML, or registry:2's YAML (by extension, else by content). */
function readConfigFile(path: string): { format: ConfigFormat; tree: Tree } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const extension = extname(path).toLowerCase();
  if (extension === ".yml" || extension === ".yaml") return { format: "registry2", tree: parseYaml(path, text) };
  try {
    return { format: "toml", tree: parseToml(text) };
  } catch (error) {
    if (extension !== ".toml") {
      const yaml = tryYaml(text);
      if (yaml !== null) return { format: "registry2", tree: yaml };
    }
    throw new ConfigError(`Config file ${path} is not valid TOML: ${(error as Error).message.split("\n")[0]}`);
  }
}

function parseYaml(path: string, text: string): Tree {
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isTree(parsed)) throw new ConfigError(`Config file ${path} is not a registry:2 configuration: expected keys at the top level`);
  return parsed;
}

function tryYaml(text: string): Tree | null {
  try {
    const parsed: unknown = Bun.YAML.parse(text);
    return isTree(parsed) ? parsed : null;
  } catch {
    return null;
  }
}
