/**
 * Chooses the storage driver the configuration names. The registry sees only StorageDriver,
 * so a new driver (an object store) is one more case here.
 */
import type { StorageDriver } from "./driver.ts";
import { FilesystemDriver } from "./filesystem.ts";
import { InMemoryDriver } from "./memory.ts";

/** The part of `config.storage` that picks and places a driver. */
export interface StorageSelection {
  driver: "filesystem" | "inmemory";
  /** the filesystem driver's root directory (absolute); the in-memory driver ignores it */
  root: string;
}

/** @throws Error when the filesystem driver's root does not exist */
export function createDriver(storage: StorageSelection): StorageDriver {
  switch (storage.driver) {
    case "filesystem":
      return new FilesystemDriver(storage.root);
    case "inmemory":
      return new InMemoryDriver();
  }
}
