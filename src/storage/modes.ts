/**
 * Permissions of stored data. `storage.mode` is the mode of files ("0640" by default);
 * directories get the same plus x wherever r is set ("0750"). Berth applies it as the process
 * umask, so everything it creates under the root follows it, SQLite files included; Berth's
 * own state under `berth/` is created 0600 (directories 0700) whatever the setting.
 */

/** Files and directories holding Berth's own state (keys, queues, indexes, the lock). */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIRECTORY_MODE = 0o700;

export interface StorageModes {
  file: number;
  directory: number;
  /** the umask that turns the default 0666 / 0777 into `file` / `directory` */
  umask: number;
}

/**
 * Parses "0640" / "640". The schema admits only modes with owner rw and no x bits.
 * @throws RangeError for anything else
 */
export function parseStorageMode(text: string): StorageModes {
  if (!/^0?[0-7]{3}$/.test(text)) throw new RangeError(`Cannot parse storage.mode "${text}": expected an octal mode such as "0640"`);
  const file = Number.parseInt(text, 8);
  if ((file & 0o600) !== 0o600 || (file & 0o111) !== 0) {
    throw new RangeError(`storage.mode "${text}" must give the owner read and write and nobody execute, e.g. "0640"`);
  }
  const execute = (file & 0o444) >> 2;
  const directory = file | execute;
  return { file, directory, umask: 0o777 & ~directory };
}

/** Sets the process umask from `storage.mode`; returns the modes. */
export function applyStorageMode(text: string): StorageModes {
  const modes = parseStorageMode(text);
  process.umask(modes.umask);
  return modes;
}
