/** `berth serve`: load the configuration, open storage, start plugins, listen. */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { createApp } from "../app.ts";
import { createAuth } from "../auth/setup.ts";
import { loadTls } from "../auth/tls.ts";
import { configPath, loadConfig } from "../config/load.ts";
import { type Config, parseDuration } from "../config/schema.ts";
import { HookBus } from "../hooks/bus.ts";
import { startPlugins } from "../hooks/plugins.ts";
import { PluginRoutes } from "../hooks/routes.ts";
import { createLogger, type Logger } from "../log.ts";
import { Registry } from "../registry/registry.ts";
import { FilesystemDriver } from "../storage/filesystem.ts";
import { VERSION } from "../version.ts";
import { configuredPlugins } from "./plugins.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** "host:port", ":port" or "[v6]:port". @throws RangeError */
export function parseListenAddress(addr: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new RangeError(`Cannot parse http.addr "${addr}": expected host:port, e.g. 0.0.0.0:5000`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export async function serve(configFile: string | undefined): Promise<void> {
  const loadOptions = configFile === undefined ? {} : { path: configFile };
  const config = loadConfig(loadOptions);
  const log = createLogger(config.log);
  const address = parseListenAddress(config.http.addr);
  const root = resolve(config.storage.root);
  mkdirSync(root, { recursive: true });
  const tls = loadTls(config.http.tls, configPath(loadOptions));
  const auth = await createAuth({ config, configFile: configPath(loadOptions), storageRoot: root, log });
  const publicUrl = config.http.public_url.replace(/\/+$/, "");
  const bus = new HookBus({ timeoutMs: parseDuration(config.hooks.timeout), onFailure: config.hooks.on_failure }, log);
  const source = { addr: `${hostname()}:${address.port}`, instanceID: crypto.randomUUID(), publicUrl };
  const registry = new Registry(new FilesystemDriver(root), { deleteEnabled: config.storage.delete }, bus, source);
  const routes = new PluginRoutes();
  const plugins = await startPlugins({ bus, routes, registry, storageRoot: root, log }, await configuredPlugins(config, configPath(loadOptions)));
  const app = createApp({ registry, options: { publicUrl, maxManifestBytes: config.limits.max_manifest_bytes }, log, routes, ...(auth ? { auth } : {}), tls: tls !== null, http: config.http });
  const server = Bun.serve({
    hostname: address.hostname,
    port: address.port,
    fetch: app.fetch,
    error: app.error, // never Bun's development error page (it shows paths and source)
    development: false,
    // Layers are streamed to disk, so there is no reason to cap a body's size in memory terms.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 120,
    // two registries on one port would split requests silently
    reusePort: false,
    ...(tls ? { tls } : {}),
  });
  log("info", "berth listening", { version: VERSION, addr: `${address.hostname}:${address.port}`, root, plugins: plugins.names.join(","), tls: tls !== null, ...(auth ? auth.describe() : { auth: "off" }) });
  const stopPurge = schedulePurge(registry, config, log);
  const shutdown = async (signal: string) => {
    log("info", "shutting down", { signal });
    stopPurge();
    await server.stop();
    await plugins.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

function schedulePurge(registry: Registry, config: Config, log: Logger): () => void {
  const age = parseDuration(config.storage.uploads.purge_after);
  const interval = parseDuration(config.storage.uploads.purge_interval);
  let running = false;
  const purge = async () => {
    if (running) return;
    running = true;
    try {
      const purged = await registry.purgeUploads(new Date(Date.now() - age));
      if (purged > 0) log("info", "purged stale uploads", { count: purged });
    } catch (error) {
      log("error", "upload purge failed", { error: String(error) });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(purge, interval);
  return () => clearInterval(timer);
}
