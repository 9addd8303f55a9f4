/**
 * Translates a registry:2 configuration (config.yml, REGISTRY_* variables) into Berth's
 * configuration tree, by the table in keys.ts. A key Berth cannot honour, or one it does not
 * know, stops start-up with the key's path; a key without effect on what is served is
 * accepted with one note.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError, type ConfigNote } from "../errors.ts";
import { isTree, setPath, type Tree } from "../tree.ts";
import { hasKeysBelow, REGISTRY2_KEYS, registry2Key, registry2Variable } from "./keys.ts";

export interface Translation {
  tree: Tree;
  notes: ConfigNote[];
}

export function translateRegistry2(source: Tree): Translation {
  const tree: Tree = {};
  const notes: ConfigNote[] = [];
  const put = (key: string, value: unknown) => setPath(tree, key, value);
  const note = (message: string) => notes.push({ level: "info", message: `registry:2 ${message}` });
  checkAuthSection(source);
  checkStorageSection(source);
  const walk = (node: unknown, key: string) => {
    const entry = registry2Key(key);
    if (entry !== undefined) {
      if (entry.effect === "refused") throw new ConfigError(`registry:2 key "${key}" cannot be honoured: ${entry.why}`);
      if (entry.effect === "ignored") note(`key ${key} is accepted and has no effect: ${entry.why}`);
      entry.apply?.(node, put, (message) => note(`key ${message}`));
      return;
    }
    if (isTree(node) && (key === "" || hasKeysBelow(key))) {
      for (const [name, child] of Object.entries(node)) walk(child, key === "" ? name : `${key}.${name}`);
      return;
    }
    throw new ConfigError(`Unknown registry:2 key "${key}" (docs/migrating-from-registry2.md lists the keys Berth reads)`);
  };
  walk(source, "");
  return { tree, notes };
}

/** A config.yml as registry:2 reads it: keys it leaves out mean registry:2's defaults, not Berth's. */
export function translateRegistry2File(source: Tree): Translation {
  const translation = translateRegistry2(source);
  if (!isTree(source.storage) || !isTree(source.storage.delete) || source.storage.delete.enabled === undefined) {
    setPath(translation.tree, "storage.delete", false);
    translation.notes.push({ level: "info", message: "registry:2 key storage.delete.enabled is not set: deletes are off, as in registry:2" });
  }
  return translation;
}

function checkAuthSection(source: Tree): void {
  const auth = source.auth;
  if (isTree(auth) && "htpasswd" in auth && !(isTree(auth.htpasswd) && auth.htpasswd.path !== undefined)) {
    throw new ConfigError('registry:2 key "auth.htpasswd.path" is missing: htpasswd authentication needs the users file');
  }
}

/** registry:2 takes one storage driver; so does Berth (storage.driver). */
function checkStorageSection(source: Tree): void {
  const storage = source.storage;
  if (isTree(storage) && "filesystem" in storage && "inmemory" in storage) {
    throw new ConfigError('registry:2 keys "storage.filesystem" and "storage.inmemory" both choose a storage driver: keep one');
  }
}

/** Makes the relative file paths of a registry:2 tree absolute against `base`. */
export function resolveRegistry2Paths(source: Tree, base: string): Tree {
  const copy = structuredClone(source);
  for (const entry of REGISTRY2_KEYS) {
    if (!entry.path) continue;
    const parts = entry.key.split(".");
    let node: unknown = copy;
    for (const part of parts.slice(0, -1)) node = isTree(node) ? node[part] : undefined;
    const leaf = parts[parts.length - 1] as string;
    if (!isTree(node) || !(leaf in node)) continue;
    const value = node[leaf];
    const absolute = (path: unknown) => (typeof path === "string" && path !== "" && !isAbsolute(path) ? resolve(base, path) : path);
    node[leaf] = Array.isArray(value) ? value.map(absolute) : absolute(value);
  }
  return copy;
}

export interface Registry2Environment {
  tree: Tree;
  notes: ConfigNote[];
}

/**
 * REGISTRY_* variables as registry:2 reads them: REGISTRY_STORAGE_DELETE_ENABLED=true sets
 * storage.delete.enabled, REGISTRY_AUTH=htpasswd picks the auth section, values are YAML.
 * A variable that names no key is ignored with a warning, as registry:2 does.
 */
export function registry2Environment(env: Record<string, string | undefined>): Registry2Environment {
  const tree: Tree = {};
  const notes: ConfigNote[] = [];
  const byVariable = new Map(REGISTRY2_KEYS.map((entry) => [registry2Variable(entry.key), entry.key]));
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith("REGISTRY_") || raw === undefined || variable === "REGISTRY_CONFIGURATION_PATH") continue;
    const value = yamlValue(raw);
    const key = byVariable.get(variable) ?? sectionChoice(variable, value) ?? keyAbove(variable, byVariable);
    if (key === null) {
      notes.push({ level: "warn", message: `Ignoring unrecognized environment variable ${variable}` });
      continue;
    }
    if (typeof key === "string") setPath(tree, key, value);
    else {
      const section = isTree(tree[key.section]) ? (tree[key.section] as Tree) : {};
      // REGISTRY_AUTH_HTPASSWD_PATH may have come first: keep what it set
      tree[key.section] = { ...section, [key.choice]: section[key.choice] ?? {} };
    }
  }
  return { tree, notes };
}

/** REGISTRY_AUTH=htpasswd, REGISTRY_STORAGE=s3: the variable names the section's kind. */
function sectionChoice(variable: string, value: unknown): { section: string; choice: string } | null {
  const section = variable.slice("REGISTRY_".length).toLowerCase();
  if ((section !== "auth" && section !== "storage") || typeof value !== "string" || !/^[a-z0-9-]+$/.test(value)) return null;
  return { section, choice: value };
}

/** A variable below a known key (REGISTRY_STORAGE_S3_BUCKET lies below storage.s3). */
function keyAbove(variable: string, byVariable: Map<string, string>): string | null {
  for (const [known, key] of byVariable) {
    if (variable.startsWith(`${known}_`)) return `${key}.${variable.slice(known.length + 1).toLowerCase().replaceAll("_", ".")}`;
  }
  return null;
}

function yamlValue(raw: string): unknown {
  try {
    const parsed: unknown = Bun.YAML.parse(raw);
    return parsed ?? raw;
  } catch {
    return raw;
  }
}
