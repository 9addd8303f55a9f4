/**
 * The htpasswd file: one `name:hash` a line, as Apache's `htpasswd` writes it. Reading is
 * lenient (blank lines and `#` comments are kept, lines Berth cannot use are reported); edits
 * change only the line of the user concerned and replace the file atomically.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isSupportedHash } from "./password.ts";

export interface HtpasswdEntries {
  users: Map<string, string>;
  /** problems worth a warning: "line 3: ...", never the hash itself */
  problems: string[];
}

/** A user name that fits the format: no colon, no white space or control characters. */
export function assertUserName(name: string): void {
  if (name === "" || name.length > 255 || !/^[^:\s\p{Cc}]+$/u.test(name)) {
    throw new RangeError(`Invalid user name "${name.slice(0, 64)}": 1 to 255 characters, no ":" and no white space`);
  }
}

export function parseHtpasswd(text: string): HtpasswdEntries {
  const users = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      problems.push(`line ${index + 1}: not "name:hash"`);
      return;
    }
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!isSupportedHash(hash)) {
      problems.push(`line ${index + 1}: user "${name}" has a hash Berth cannot verify (use bcrypt, htpasswd -B, or argon2id)`);
      return;
    }
    if (users.has(name)) problems.push(`line ${index + 1}: user "${name}" appears again; the first entry counts`);
    else users.set(name, hash);
  });
  return { users, problems };
}

/** The file's text with `name` set to `hash` (added at the end when new). */
export function setUserLine(text: string, name: string, hash: string): string {
  assertUserName(name);
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const index = lines.findIndex((line) => line.trim().startsWith(`${name}:`));
  if (index >= 0) lines[index] = `${name}:${hash}`;
  else lines.push(`${name}:${hash}`);
  return lines.join("\n") + "\n";
}

/** The file's text without `name`'s line, or null when the user is not in it. */
export function removeUserLine(text: string, name: string): string | null {
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const kept = lines.filter((line) => !line.trim().startsWith(`${name}:`));
  if (kept.length === lines.length) return null;
  return kept.length === 0 ? "" : kept.join("\n") + "\n";
}

/** Writes through a temporary file, fsync and rename: a reader sees the old file or the new one. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  let fileMode = mode;
  try {
    fileMode = statSync(path).mode & 0o777;
  } catch {
    // a new file
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, "wx", fileMode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/**
 * The file as the server reads it: re-read whenever it changed on disk (checked on each use,
 * a stat call), so `berth user add` takes effect without a restart. When a re-read fails, the
 * last good content stays in use and `onProblem` is told.
 */
export class HtpasswdFile {
  private entries: HtpasswdEntries = { users: new Map(), problems: [] };
  private signature = "";

  constructor(
    readonly path: string,
    private readonly onProblem: (message: string) => void = () => {},
  ) {}

  /** Reads the file now. @throws Error when it cannot be read (start-up refuses to go on). */
  load(): HtpasswdEntries {
    const stat = statSync(this.path);
    this.entries = parseHtpasswd(readFileSync(this.path, "utf8"));
    this.signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    return this.entries;
  }

  /** The stored hash of `name`, from the current file. */
  lookup(name: string): string | undefined {
    this.refresh();
    return this.entries.users.get(name);
  }

  /** The hashes of every user, for choosing the cost of the dummy hash. */
  hashes(): string[] {
    this.refresh();
    return [...this.entries.users.values()];
  }

  private refresh(): void {
    let signature: string;
    try {
      const stat = statSync(this.path);
      signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch (error) {
      if (this.signature !== "missing") this.onProblem(`Cannot read ${this.path}: ${(error as NodeJS.ErrnoException).code ?? error}; keeping the users read before`);
      this.signature = "missing";
      return;
    }
    if (signature === this.signature) return;
    try {
      const before = this.entries.problems.join("\n");
      this.load();
      const after = this.entries.problems.join("\n");
      if (after !== "" && after !== before) this.onProblem(`${this.path}: ${this.entries.problems.join("; ")}`);
    } catch (error) {
      this.onProblem(`Cannot read ${this.path}: ${(error as NodeJS.ErrnoException).code ?? error}; keeping the users read before`);
    }
  }
}
