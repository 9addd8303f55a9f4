/**
 * Starts plugins (built-in ones and operators' files, see load.ts) and gives each its context:
 * the hook bus, routes, timers, its data directory and the registry's plugin access. This sits
 * above both the core and the hooks, so neither imports the other's users.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { HookBus } from "../hooks/bus.ts";
import { type AuditFields, HookDenial, type MetricsApi, type PluginContext, type RegistryPlugin } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../registry/registry.ts";
import type { Cluster } from "../cluster/cluster.ts";
import { registryAccess } from "./access.ts";
import { PluginLoadError } from "./load.ts";
import type { PluginRoutes } from "./routes.ts";

export interface PluginHost {
  bus: HookBus;
  routes: PluginRoutes;
  registry: Registry;
  /** the storage root; each plugin gets <root>/berth/plugins/<name> */
  storageRoot: string;
  log: Logger;
  /** the registry's Prometheus series, which plugins add to */
  metrics: MetricsApi;
  /** one audit line on a plugin's behalf (its name is the actor) */
  audit: (plugin: string, action: string, fields: AuditFields) => void;
  /** the replicas sharing the metadata; plugins get `ctx.cluster` from it */
  cluster: Cluster;
}

export interface StartedPlugins {
  names: string[];
  /** hands new options to a running plugin; false when it is not running or cannot reload */
  reload(name: string, options: Record<string, unknown>): Promise<boolean>;
  close(): Promise<void>;
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
    registry: registryAccess(host.registry, name),
    options,
    dataDir,
    log: (level, message, fields) => host.log(level, message, { plugin: name, ...fields }),
    metrics: host.metrics,
    audit: (action, fields = {}) => host.audit(name, action, fields),
    cluster: {
      replica: host.cluster.replica,
      database: host.cluster.sql,
      // lease names per plugin: none can hold the core's ("gc") or another plugin's
      exclusive: (lease, work) => host.cluster.exclusive(`plugin:${name}:${lease}`, work),
    },
  };
}
