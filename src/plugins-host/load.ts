/** Imports an operator's plugin file (the compiled binary transpiles TypeScript itself). */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { RegistryPlugin } from "../hooks/types.ts";

export class PluginLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PluginLoadError";
  }
}

type PluginFactory = (options: Record<string, unknown>) => RegistryPlugin | Promise<RegistryPlugin>;

/** A default export (or `createPlugin`, `plugin`) that is a plugin or a factory of one. */
export async function importPlugin(path: string, baseDir: string, options: Record<string, unknown>): Promise<RegistryPlugin> {
  const absolute = isAbsolute(path) ? path : resolve(baseDir, path);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new PluginLoadError(`Cannot load plugin ${absolute}: ${(error as Error).message}`);
  }
  const exported = module.default ?? module.createPlugin ?? module.plugin;
  const plugin = typeof exported === "function" ? await (exported as PluginFactory)(options) : exported;
  if (!isPlugin(plugin)) {
    throw new PluginLoadError(`Plugin ${absolute} must export default a plugin { name, setup(ctx) } or a function returning one`);
  }
  return plugin;
}

function isPlugin(value: unknown): value is RegistryPlugin {
  if (typeof value !== "object" || value === null) return false;
  return "name" in value && typeof value.name === "string" && "setup" in value && typeof value.setup === "function";
}
