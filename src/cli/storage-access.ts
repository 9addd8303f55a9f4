/**
 * What the maintenance commands (`berth index rebuild`, `berth fsck`, `berth repo delete`)
 * share: the storage and metadata index that `serve` would use, found through the same
 * `--config` / `BERTH_*` settings, and the storage root's lock. A command that changes the
 * tree or the index takes the lock `serve` holds, for as long as it runs, so that it never
 * writes beside a running server (and a server cannot start while it works).
 */
import { existsSync } from "node:fs";
import { loadConfiguration } from "../config/load.ts";
import { MetadataIndex } from "../metadata/index.ts";
import type { TreeReader } from "../metadata/tree.ts";
import { treeReader } from "../registry/tree-reader.ts";
import { createDriver } from "../storage/create.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";

export interface StorageAccess {
  root: string;
  driver: StorageDriver;
  tree: TreeReader;
  index: MetadataIndex;
  /** gc.delay in ms: how long a blob that loses its last reference waits for review */
  delayMs: number;
  close(): Promise<void>;
}

export interface AccessOptions {
  configFile: string | undefined;
  /** take the root's lock (the command writes); refused while a server holds it */
  exclusive: boolean;
  /** what to suggest instead when a server holds the root, e.g. "run berth fsck without --repair" */
  whileServing: string;
}

/**
 * Opens the configured storage and index.
 * @throws Error with a message for the operator: no storage there, a server holds the root,
 *   the index cannot be opened
 */
export async function openStorage(options: AccessOptions): Promise<StorageAccess> {
  const { resolved } = loadConfiguration(options.configFile === undefined ? {} : { path: options.configFile });
  const { root, driver: kind } = resolved.storage;
  if (kind !== "filesystem") throw new Error(`storage.driver is "${kind}": there is no stored registry to work on`);
  if (!existsSync(root)) throw new Error(`no storage at ${root} (storage.root): nothing to work on`);
  if (options.exclusive) {
    try {
      const lock = lockStorageRoot(root);
      if (!lock.held) throw new Error(`cannot lock the storage root (${lock.path}: read-only, or no flock): refusing to change it`);
    } catch (error) {
      if (!(error instanceof RootLockedError)) throw error;
      const who = error.pid === null ? "" : ` (PID ${error.pid})`;
      throw new Error(`a server is running on this root${who}: ${root}; stop it or ${options.whileServing}`);
    }
  }
  const driver = createDriver(resolved.storage);
  const delayMs = resolved.gc.delayMs;
  const index = await MetadataIndex.open({ url: resolved.metadata.url, root, inMemory: false }, { delayMs });
  return { root, driver, tree: treeReader(driver), index, delayMs, close: () => index.close() };
}

/** Runs `work` with the storage open, closing the index however it ends. */
export async function withStorage<T>(options: AccessOptions, work: (access: StorageAccess) => Promise<T>): Promise<T> {
  const access = await openStorage(options);
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
