/**
 * Starts plugins: built-in ones handed over by the caller, and operators' TypeScript files
 * listed in registry.toml, imported at start (the compiled binary transpiles them itself).
 */
import { mkdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { formatDigest, looksLikeDigest, parseDigest } from "../oci/digest.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../registry/registry.ts";
import type { HookBus } from "./bus.ts";
import type { PluginRoutes } from "./routes.ts";
import { HookDenial, type PluginContext, type RegistryPlugin, type RegistryReader, type RequestInfo } from "./types.ts";

export class PluginLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PluginLoadError";
  }
}

export interface PluginHost {
  bus: HookBus;
  routes: PluginRoutes;
  registry: Registry;
  /** the storage root; each plugin gets <root>/berth/plugins/<name> */
  storageRoot: string;
  log: Logger;
}

export interface StartedPlugins {
  names: string[];
  /** hands new options to a running plugin; false when it is not running or cannot reload */
  reload(name: string, options: Record<string, unknown>): Promise<boolean>;
  close(): Promise<void>;
}

type PluginFactory = (options: Record<string, unknown>) => RegistryPlugin | Promise<RegistryPlugin>;

/** Imports an operator's plugin file: a default export that is a plugin or a factory of one. */
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
  const candidate = value as Partial<RegistryPlugin> | null;
  return typeof candidate === "object" && candidate !== null && typeof candidate.name === "string" && typeof candidate.setup === "function";
}

export async function startPlugins(
  host: PluginHost,
  plugins: Array<{ plugin: RegistryPlugin; options: Record<string, unknown> }>,
): Promise<StartedPlugins> {
  const timers: Timer[] = [];
  const started: RegistryPlugin[] = [];
  for (const { plugin, options } of plugins) {
    const ctx = createContext(host, plugin.name, options, timers);
    try {
      await plugin.setup(ctx);
    } catch (error) {
      throw new PluginLoadError(`Plugin ${plugin.name} failed to start: ${(error as Error).message}`);
    }
    started.push(plugin);
    host.log("info", "plugin started", { plugin: plugin.name });
  }
  return {
    names: started.map((p) => p.name),
    async reload(name, options) {
      const plugin = started.find((p) => p.name === name);
      if (plugin?.reload === undefined) return false;
      await plugin.reload(options);
      return true;
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const plugin of started.reverse()) {
        try {
          await plugin.close?.();
        } catch (error) {
          host.log("error", "plugin close failed", { plugin: plugin.name, error: String(error) });
        }
      }
    },
  };
}

function createContext(host: PluginHost, name: string, options: Record<string, unknown>, timers: Timer[]): PluginContext {
  const dataDir = join(host.storageRoot, "berth", "plugins", name.replace(/[^a-zA-Z0-9._-]/g, "_"));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // plugin state is private (docs/storage.md)
  return {
    deny(message: string): never {
      throw new HookDenial(message);
    },
    before: (hook, fn, hookOptions) => host.bus.addBefore(name, hook, fn, hookOptions),
    on: (action, fn, listenerOptions) => host.bus.addListener(name, action, fn, listenerOptions),
    every(intervalMs, fn) {
      let running = false;
      timers.push(
        setInterval(async () => {
          if (running) return;
          running = true;
          try {
            await fn();
          } catch (error) {
            host.log("error", "scheduled plugin work failed", { plugin: name, error: String(error) });
          } finally {
            running = false;
          }
        }, intervalMs),
      );
    },
    route: (method, path, handler) => host.routes.add(method, path, handler),
    registry: createReader(host.registry, name),
    options,
    dataDir,
    log: (level, message, fields) => host.log(level, message, { plugin: name, ...fields }),
  };
}

/** What plugins may do to the registry: read, and delete through the same rules and hooks. */
function createReader(registry: Registry, plugin: string): RegistryReader {
  const info: RequestInfo = { id: crypto.randomUUID(), addr: "", host: "", method: "PLUGIN", useragent: `berth-plugin/${plugin}`, actor: `plugin:${plugin}` };
  const reference = (ref: string) => (looksLikeDigest(ref) ? { digest: parseDigest(ref) } : { tag: ref });
  return {
    repositories: () => registry.catalog.all().then((names) => [...names]),
    tags: (repository) => registry.tags(repository).then((tags) => [...tags]),
    async manifest(repository, ref) {
      try {
        const m = await registry.manifests.get(repository, reference(ref));
        return { digest: formatDigest(m.digest), mediaType: m.mediaType, bytes: m.bytes.slice() }; // not the cached buffer
      } catch {
        return null;
      }
    },
    deleteTag: (repository, tag) => registry.deleteManifest(repository, { tag }, info),
    deleteManifest: (repository, digest) => registry.deleteManifest(repository, { digest: parseDigest(digest) }, info),
  };
}
