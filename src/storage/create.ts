/**
 * Chooses the storage driver the configuration names. The registry sees only StorageDriver,
 * so a new driver is one more case here.
 */
import type { StorageDriver } from "./driver.ts";
import { FilesystemDriver } from "./filesystem.ts";
import { InMemoryDriver } from "./memory.ts";
import { S3Driver } from "./s3/driver.ts";
import { type S3Config, resolveS3Settings } from "./s3/settings.ts";

/** The part of `config.storage` that picks and places a driver. */
export interface StorageSelection {
  driver: "filesystem" | "inmemory" | "s3";
  /** the filesystem driver's root directory (absolute); the other drivers ignore it */
  root: string;
  /** [storage.s3], for the s3 driver */
  s3?: S3Config;
  /** s3: blob GETs answered with a presigned URL */
  redirect?: boolean;
}

/**
 * @throws Error when the filesystem driver's root does not exist, or the s3 driver's settings
 *   are incomplete (no bucket, no credentials)
 */
export function createDriver(storage: StorageSelection): StorageDriver {
  switch (storage.driver) {
    case "filesystem":
      return new FilesystemDriver(storage.root);
    case "inmemory":
      return new InMemoryDriver();
    case "s3":
      if (!storage.s3) throw new Error('storage.driver = "s3" needs [storage.s3]');
      return new S3Driver(resolveS3Settings(storage.s3, storage.redirect ?? false));
  }
}
