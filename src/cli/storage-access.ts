/**
 * What the maintenance commands (`berth index rebuild`, `berth fsck`, `berth repo delete`)
 * share: the storage and metadata index that `serve` would use, found through the same
 * `--config` / `BERTH_*` settings, and the storage root's lock. A command that changes the
 * tree or the index either takes the lock `serve` holds, for as long as it runs, so that it
 * never writes beside a running server (and a server cannot start while it works), or, when a
 * server holds it, asks that server over its admin socket (server-client.ts).
 */
import { existsSync, mkdirSync } from "node:fs";
import { loadConfiguration, type ResolvedConfig } from "../config/load.ts";
import { MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { treeReader } from "../registry/tree-reader.ts";
import { createDriver } from "../storage/create.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";
import { ServerClient } from "./server-client.ts";

export interface StorageAccess {
  root: string;
  driver: StorageDriver;
  tree: TreeReader;
  index: MetadataIndex;
  /** gc.delay in ms: how long a blob that loses its last reference waits for review */
  delayMs: number;
  close(): Promise<void>;
}

/** The configured storage a command works on. */
export interface StorageTarget {
  resolved: ResolvedConfig;
  root: string;
}

/**
 * Reads the configuration as `serve` would.
 * @throws Error with a message for the operator: not a filesystem storage, no storage there
 */
export function storageTarget(configFile: string | undefined): StorageTarget {
  const { resolved } = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const { root, driver: kind } = resolved.storage;
  if (kind === "inmemory") throw new Error(`storage.driver is "${kind}": there is no stored registry to work on`);
  // s3: the root is the local state directory (lock, SQLite index), made when absent
  if (kind === "filesystem" && !existsSync(root)) throw new Error(`no storage at ${root} (storage.root): nothing to work on`);
  if (kind === "s3") mkdirSync(root, { recursive: true });
  return { resolved, root };
}

/**
 * For a command that changes the storage: takes the root's lock (held until the process
 * exits), or finds the server that holds it.
 * @returns null when this process holds the lock; else a client of the holder's admin socket
 * @throws Error when no lock can be taken here (read-only root, no flock)
 */
export function lockOrServer(root: string): ServerClient | null {
  try {
    const lock = lockStorageRoot(root);
    if (!lock.held) throw new Error(`cannot lock the storage root (${lock.path}: read-only, or no flock): refusing to change it`);
    return null;
  } catch (error) {
    if (!(error instanceof RootLockedError)) throw error;
    return new ServerClient(root, error.pid);
  }
}

/**
 * Opens the configured storage and index (no lock: see lockOrServer).
 * @throws Error when the index cannot be opened
 */
export async function openStorage({ resolved, root }: StorageTarget): Promise<StorageAccess> {
  const driver = createDriver(resolved.storage);
  const delayMs = resolved.gc.delayMs;
  const index = await MetadataIndex.open({ url: resolved.metadata.url, root, inMemory: false }, { delayMs, syncTree: () => driver.sync() });
  return { root, driver, tree: treeReader(driver), index, delayMs, close: () => index.close() };
}

/** Runs `work` with the storage open, closing the index however it ends. */
export async function withStorage<T>(target: StorageTarget, work: (access: StorageAccess) => Promise<T>): Promise<T> {
  const access = await openStorage(target);
  try {
    return await work(access);
  } finally {
    await access.close();
  }
}

/** Progress lines go to standard error at most every `intervalMs` (the last one always). */
export function throttled(intervalMs = 1_000): (line: string, final?: boolean) => void {
  let last = 0;
  return (line, final = false) => {
    const now = Date.now();
    if (!final && now - last < intervalMs) return;
    last = now;
    process.stderr.write(`${line}\n`);
  };
}
