/**
 * The composition root: from a resolved configuration to a working registry (storage driver,
 * hook bus, Registry facade, plugins) and the HTTP app for a configuration. `berth serve` adds
 * the process around it (listener, signals, storage lock, timers); the in-process tests use it
 * as it is, so they exercise the same wiring as the binary.
 */
import { type App, createApp } from "./app.ts";
import { addIndexRoutes } from "./api-v1-admin/index-routes.ts";
import { addAccountsRoutes } from "./api-v1-admin/accounts-routes.ts";
import { Accounts } from "./accounts/accounts.ts";
import { announceExpiringRobots } from "./accounts/expiry.ts";
import { type AuthGate, createAuth } from "./auth/setup.ts";
import { configuredPlugins } from "./cli/plugins.ts";
import type { LoadedConfig } from "./config/load.ts";
import { HookBus } from "./hooks/bus.ts";
import type { EventSource } from "./hooks/events.ts";
import type { Logger } from "./log.ts";
import { addGcRoutes } from "./gc/routes.ts";
import { addPullsRoutes } from "./api-v1-admin/pulls-routes.ts";
import { PluginRoutes } from "./plugins-host/routes.ts";
import { createUiHandler } from "./ui/handler.ts";
import { type StartedPlugins, startPlugins } from "./plugins-host/start.ts";
import { type DatabaseLocation, isSharedDatabase } from "./metadata/database.ts";
import { Cluster, replicaIdFor } from "./cluster/cluster.ts";
import { type IndexOptions, MetadataIndex } from "./metadata/index.ts";
import { errnoCode, storageCondition } from "./storage/conditions.ts";
import { PullThroughCache } from "./proxy/proxy.ts";
import { Registry } from "./registry/registry.ts";
import { createDriver } from "./storage/create.ts";
import { addAuditRoutes } from "./audit/routes.ts";
import { addBackupRoutes } from "./backup/routes.ts";
import { AuditLog } from "./audit/log.ts";
import { addMaintenanceRoutes, READ_ONLY_SETTING } from "./api-v1-admin/maintenance-routes.ts";
import { addClusterRoutes } from "./api-v1-admin/cluster-routes.ts";
import { addCoreSeries } from "./metrics/core-series.ts";
import { HttpMetrics } from "./metrics/http-metrics.ts";
import { metricsPage } from "./metrics/page.ts";
import { addProcessSeries } from "./metrics/process-series.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import type { StorageDriver } from "./storage/driver.ts";

export interface ComposeOptions {
  loaded: Pick<LoadedConfig, "resolved" | "file">;
  log: Logger;
  /** this instance's address as events name it (host:port); read per event: with port 0 it is known once listening */
  instanceAddr: () => string;
  /** a driver made by the caller (tests), else the one `storage.driver` names */
  driver?: StorageDriver;
}

export interface ComposedRegistry {
  driver: StorageDriver;
  registry: Registry;
  index: MetadataIndex;
  /** the replicas sharing the metadata (PostgreSQL); a cluster of one with SQLite */
  cluster: Cluster;
  plugins: StartedPlugins;
  /** robots and namespaces, in the metadata index */
  accounts: Accounts;
  /** logs and emits (`expiring`) the robots that expire within 7 days, once a day each (serve runs it daily) */
  announceExpiring(): Promise<number>;
  /** the Prometheus series (GET /metrics, [metrics] addr) */
  metrics: MetricsRegistry;
  audit: AuditLog;
  /** resolves when the metadata index holds the whole storage (at once, unless it was never built) */
  indexBuilt: Promise<void>;
  /** stops plugins and closes the metadata index (pull counts written) */
  close(): Promise<void>;
  /**
   * The HTTP side of a configuration, what SIGHUP rebuilds: access layer, headers, CORS; and
   * the admin socket's app (the same routes under /api/, the operator's, no access layer).
   */
  buildApp(current: Pick<LoadedConfig, "resolved" | "file">, https: boolean): Promise<{ auth: AuthGate | null; app: App; adminApp: App }>;
}

/** Who the admin socket's requests are by, in the access log (only the server's user can connect). */
const ADMIN_SOCKET_ACTOR = "berth:admin-socket";

/** @throws Error (ConfigError, PluginLoadError) when a part cannot start */
export async function composeRegistry({ loaded, log, instanceAddr, driver: given }: ComposeOptions): Promise<ComposedRegistry> {
  const { resolved } = loaded;
  const driver = given ?? createDriver(resolved.storage);
  const bus = new HookBus({ timeoutMs: resolved.hooks.timeoutMs, onFailure: resolved.hooks.onFailure }, log);
  const source: EventSource = {
    get addr() {
      return instanceAddr();
    },
    instanceID: crypto.randomUUID(),
    publicUrl: resolved.http.publicUrl,
  };
  const location = { url: resolved.metadata.url, root: resolved.storage.root, inMemory: resolved.storage.driver === "inmemory" };
  const shared = isSharedDatabase(location);
  const replica = replicaIdFor(shared && !location.inMemory ? resolved.storage.root : null);
  const journalOwner = shared ? { journalOwner: replica } : {};
  const index = await openIndex(location, { delayMs: resolved.gc.delayMs, syncTree: () => driver.sync(), ...journalOwner }, log);
  const cluster = await Cluster.open(index.database, { replica, log, addr: instanceAddr, gcDelayMs: resolved.gc.delayMs });
  await cluster.start();
  const registry = new Registry(driver, { deleteEnabled: resolved.storage.deleteEnabled, gcDelayMs: resolved.gc.delayMs, gcUntaggedMs: resolved.gc.untaggedMs }, bus, source, index, cluster);
  const { recovered, built } = await registry.start({
    onBuilt: (error) => {
      if (error === null) log("info", "metadata index built from the storage");
      else log("error", "metadata index build failed; listings keep coming from the storage", { error: String(error) });
    },
  });
  if (recovered > 0) log("info", "metadata index: settled changes a stop interrupted", { count: recovered });
  registry.setReadOnly(resolved.storage.readOnly);
  followCluster(cluster, registry, resolved.metadata.cacheTtlMs, log);
  const metrics = new MetricsRegistry();
  const httpMetrics = new HttpMetrics();
  addProcessSeries(metrics);
  const security = addCoreSeries(metrics, registry, index);
  metrics.addExposition((lines) => httpMetrics.write(lines));
  const audit = new AuditLog(resolved.audit, log);
  const system = (actor: string) => ({ actor, addr: "", requestId: "" });
  registry.onGcRun((report) => {
    if (!report.dryRun) audit.record("gc.run", system("berth:gc"), report.errors.length === 0 ? "ok" : "failed", { blobs_deleted: report.blobsDeleted, bytes_freed: report.bytesFreed, manifests_deleted: report.manifestsDeleted });
  });
  const routes = new PluginRoutes();
  // core admin routes: before plugins, so none can take them
  addGcRoutes(routes, registry);
  addIndexRoutes(routes, registry);
  addPullsRoutes(routes, registry);
  const accounts = new Accounts(index.database, log);
  addAccountsRoutes(routes, accounts, ADMIN_SOCKET_ACTOR);
  const proxy = resolved.proxy.length > 0 ? new PullThroughCache(resolved.proxy, registry, driver, log, metrics) : null;
  if (proxy) routes.add("GET", "/api/v1/proxy", async () => Response.json(await proxy.status()));
  addMaintenanceRoutes(routes, registry, cluster, log);
  addClusterRoutes(routes, cluster);
  addAuditRoutes(routes, audit);
  addBackupRoutes(routes, registry, driver, log);
  const pluginAudit = (plugin: string, action: string, fields: Record<string, string | number | boolean | null>) => audit.record(action, system(`plugin:${plugin}`), "ok", fields);
  const plugins = await startPlugins({ bus, routes, registry, storageRoot: resolved.storage.root, log, metrics, audit: pluginAudit, cluster }, await configuredPlugins(resolved));
  const ops = { http: httpMetrics, audit, security, page: metricsPage(metrics, log) };
  // what a running registry cannot change without a restart comes from the configuration it started with
  const options = { publicUrl: resolved.http.publicUrl, maxManifestBytes: resolved.limits.maxManifestBytes, ...(proxy ? { proxy } : {}) };

  const buildApp: ComposedRegistry["buildApp"] = async (current, https) => {
    const auth = await createAuth({ config: current.resolved, configFile: current.file, storage: driver, accounts, log, shared: cluster.sql });
    const http = { headers: current.resolved.http.headers, cors: current.resolved.http.cors };
    const shared = { registry, options, log, routes, http };
    const ui = current.resolved.ui ? { ui: createUiHandler(current.resolved.ui.path) } : {};
    const withToken = { ...ops, token: current.resolved.metrics.token };
    return {
      auth,
      app: createApp({ ...shared, ...(auth ? { auth } : {}), ...ui, tls: https, ops: withToken }),
      adminApp: createApp({ ...shared, operator: { actor: ADMIN_SOCKET_ACTOR }, ops: withToken }),
    };
  };
  const close = async () => {
    await plugins.close();
    await cluster.close();
    await index.close(); // a build still running stops here; the next start builds again
    audit.close();
  };
  const announceExpiring = () => announceExpiringRobots(accounts, bus, source, log);
  return { driver, registry, index, cluster, plugins, accounts, announceExpiring, metrics, audit, indexBuilt: built, buildApp, close };
}

/**
 * With replicas: forget cached tags and names every `metadata.cache_ttl`, settle what dead
 * replicas left half done, and follow maintenance mode as any replica sets it.
 */
function followCluster(cluster: Cluster, registry: Registry, cacheTtlMs: number, log: Logger): void {
  if (!cluster.shared) return;
  cluster.every(cacheTtlMs, () => registry.forgetCached());
  cluster.every(SETTLE_EVERY_MS, async () => {
    const settled = await registry.settleAbandoned();
    if (settled > 0) log("info", "metadata index: settled changes a replica that stopped left half done", { count: settled });
  });
  cluster.onSettingChange(READ_ONLY_SETTING, (value) => {
    const readOnly = value === "true";
    if (readOnly !== registry.readOnly) log("warn", readOnly ? "maintenance (set on another replica): the registry is read-only" : "maintenance (set on another replica): the registry accepts changes again");
    registry.setReadOnly(readOnly);
  });
}

/** How often a replica looks for journal entries of replicas that died. */
const SETTLE_EVERY_MS = 10_000;

/** A read-only storage root still serves pulls: its index is then kept in memory (and built from the tree). */
async function openIndex(location: DatabaseLocation, options: IndexOptions, log: Logger): Promise<MetadataIndex> {
  try {
    return await MetadataIndex.open(location, options);
  } catch (error) {
    const code = errnoCode(error) ?? "";
    const readOnly = storageCondition(error) === "read-only" || code === "SQLITE_READONLY" || code === "SQLITE_CANTOPEN" || code === "EACCES";
    if (location.url !== "" || location.inMemory || !readOnly) throw error;
    log("warn", "the metadata index cannot be written on this storage root: it is kept in memory and built from the tree", { code });
    return MetadataIndex.open({ ...location, inMemory: true }, options);
  }
}
