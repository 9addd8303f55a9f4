/** `berth serve`: load the configuration, open storage, start plugins, listen. */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { isDeepStrictEqual } from "node:util";
import { composeRegistry } from "../compose.ts";
import { type LoadedConfig, loadConfiguration, reloadConfiguration, type ResolvedConfig } from "../config/load.ts";
import { scheduleExpiryNotices } from "../accounts/expiry.ts";
import { scheduleGc } from "../gc/schedule.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Registry } from "../registry/registry.ts";
import { applyStorageMode } from "../storage/modes.ts";
import { lockStorageRoot } from "../storage/root-lock.ts";
import { scheduleTempSweep, TEMP_FILE_MAX_AGE_MS } from "../storage/temp-files.ts";
import { VERSION } from "../version.ts";
import { AdminSocket } from "./admin-socket.ts";
import { Listener } from "./listener.ts";
import { metricsPage, openMetricsListener } from "../metrics/page.ts";
import { retentionOptionsOf } from "./plugins.ts";
import { type Checked, isLoopback, parseListenAddress, preflight } from "./preflight.ts";
import { keysNeedingRestart, serialised } from "./reload.ts";

export { parseListenAddress, type ListenAddress } from "./preflight.ts";

/** How long requests in flight may take to finish after SIGTERM before their connections are closed. */
const SHUTDOWN_DEADLINE_MS = 30_000;

/** Every SIGHUP re-reads the signing policies' key and root files, changed or not. */
async function reloadSigning(plugins: { reload(name: string, options: Record<string, unknown>): Promise<boolean> }, options: Record<string, unknown>, log: Logger): Promise<void> {
  try {
    const reloaded = await plugins.reload("signing", options);
    if (!reloaded && Array.isArray(options.policies) && options.policies.length > 0) {
      log("warn", "signing policies were off at start: adding them needs a restart", { key: "signing" });
    }
  } catch (error) {
    log("error", "signing reload refused; the running policies stay", { error: error instanceof Error ? error.message : String(error) });
  }
}

export async function serve(configFile: string | undefined): Promise<void> {
  const loaded = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const { resolved } = loaded;
  const log = createLogger(resolved.log);
  for (const note of loaded.notes) log(note.level, note.message);
  const { address, tls } = await preflight(loaded);
  const metricsAddress = resolved.metrics.addr === "" ? null : metricsAddressOf(resolved.metrics.addr);
  const root = resolved.storage.root;
  applyStorageMode(resolved.storage.mode); // before anything is created under the root
  // the root also holds this process's local state (plugins' data) whatever the driver
  mkdirSync(root, { recursive: true });
  let rootLocked = false;
  // s3: the root is the local state directory (SQLite index, plugins' data, admin socket): one process per root still
  if (resolved.storage.driver !== "inmemory") {
    const lock = lockStorageRoot(root);
    if (!lock.held) log("warn", "storage root not locked (no flock, or read-only): make sure no other Berth serves it", { lock: lock.path });
    rootLocked = lock.held;
  }
  let listener: Listener | null = null;
  const host = hostname(); // once: every event names it
  const instanceAddr = () => `${host}:${listener?.port ?? address.port}`;
  const { driver, registry, plugins, close, buildApp, announceExpiring, metrics, audit } = await composeRegistry({ loaded, log, instanceAddr });
  const { auth, app, adminApp } = await buildApp(loaded, tls !== null);
  listener = Listener.open(address, app, tls);
  // only the lock's holder owns the socket's path (a second server was refused the lock above)
  const adminSocket = rootLocked ? AdminSocket.open(root, adminApp, log) : null;
  const metricsListener = metricsAddress && openMetricsListener(metricsAddress.hostname, metricsAddress.port, metricsPage(metrics, log));
  if (metricsListener) log("info", "metrics listening", { addr: `${metricsAddress.hostname}:${metricsListener.port}` });
  log("info", "berth listening", { version: VERSION, addr: `${address.hostname}:${listener.port}`, root, plugins: plugins.names.join(","), tls: tls !== null, admin_socket: adminSocket?.path ?? "none", ...(auth ? auth.describe() : { auth: "off" }) });
  if (!auth && !isLoopback(address.hostname)) {
    log("warn", "the registry is open: anyone who reaches this address may push, pull and delete; set [auth] htpasswd (docs/auth.md) or listen on 127.0.0.1", { addr: `${address.hostname}:${address.port}` });
  }
  const stopPurge = resolved.storage.uploads.purge ? schedulePurge(registry, resolved.storage.uploads, log) : () => {};
  const stopGc = scheduleGc(registry, resolved.gc.intervalMs, log);
  const stopExpiryNotices = scheduleExpiryNotices(announceExpiring, log);
  const sweepTemp = driver.sweepTempFiles?.bind(driver);
  const stopSweep = sweepTemp
    ? scheduleTempSweep(() => sweepTemp(new Date(Date.now() - TEMP_FILE_MAX_AGE_MS)), resolved.storage.uploads.purgeIntervalMs, log)
    : () => {};

  let running = { loaded, tls };
  const reload = serialised(async () => {
    let next: LoadedConfig;
    let checked: Checked;
    let built: Awaited<ReturnType<typeof buildApp>>;
    try {
      next = reloadConfiguration(running.loaded);
      checked = await preflight(next);
      built = await buildApp(next, running.tls !== null);
    } catch (error) {
      log("error", "reload refused; the running configuration stays", { error: error instanceof Error ? error.message : String(error) });
      audit.record("config.reload", { actor: "berth:sighup", addr: "", requestId: "" }, "failed", { error: (error instanceof Error ? error.message : String(error)).slice(0, 300) });
      return;
    }
    for (const note of next.notes) log(note.level, note.message);
    for (const key of keysNeedingRestart(running.loaded.config, next.config)) log("warn", "a changed key needs a restart; its running value stays", { key });
    let nextTls = running.tls;
    if ((checked.tls === null) !== (running.tls === null)) log("warn", "turning TLS on or off needs a restart", { key: "http.tls" });
    else if (checked.tls !== null && !isDeepStrictEqual(checked.tls, running.tls)) {
      listener.replaceTls(checked.tls);
      nextTls = checked.tls;
    }
    listener.use(built.app);
    adminSocket?.use(built.adminApp);
    if (!isDeepStrictEqual(next.config.webhook, running.loaded.config.webhook) && !(await plugins.reload("webhook", next.config.webhook))) {
      log("warn", "webhook endpoints were off at start: adding them needs a restart", { key: "webhook" });
    }
    const retention = retentionOptionsOf(next.resolved);
    if (!isDeepStrictEqual(retention, retentionOptionsOf(running.loaded.resolved)) && !(await plugins.reload("retention", retention))) {
      log("warn", "retention, immutability and quotas were off at start: turning them on needs a restart", { key: "retention" });
    }
    await reloadSigning(plugins, next.config.signing, log);
    const renewed = nextTls !== running.tls;
    running = { loaded: next, tls: nextTls };
    audit.record("config.reload", { actor: "berth:sighup", addr: "", requestId: "" }, "ok", { tls_renewed: renewed });
    log("info", "configuration reloaded", { tls_renewed: renewed, ...(built.auth ? built.auth.describe() : { auth: "off" }) });
  });
  process.on("SIGHUP", () => void reload());

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return; // a second signal while draining changes nothing
    stopping = true;
    log("info", "shutting down", { signal });
    stopPurge();
    stopSweep();
    stopExpiryNotices();
    const gcStopped = stopGc();
    // stop accepting; requests in flight (a layer being pushed) finish, up to the deadline
    const drained = Promise.all([listener.stop(), adminSocket?.stop(), metricsListener?.stop()]);
    const deadline = Bun.sleep(SHUTDOWN_DEADLINE_MS).then(() => "deadline" as const);
    if ((await Promise.race([drained, deadline])) === "deadline") {
      log("warn", "requests still in flight at the shutdown deadline: closing their connections", { deadline_ms: SHUTDOWN_DEADLINE_MS });
      listener.stop(true);
    }
    await gcStopped;
    await close(); // pull counts written, webhook queue closed
    log("info", "stopped", { signal });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

function metricsAddressOf(addr: string) {
  try {
    return parseListenAddress(addr);
  } catch {
    throw new RangeError(`Cannot parse metrics.addr "${addr}": expected host:port, e.g. 127.0.0.1:5001`);
  }
}

function schedulePurge(registry: Registry, uploads: ResolvedConfig["storage"]["uploads"], log: Logger): () => void {
  const age = uploads.purgeAfterMs;
  const interval = uploads.purgeIntervalMs;
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
