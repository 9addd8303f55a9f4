/**
 * The file-system thread pool `serve` runs with. Bun reads UV_THREADPOOL_SIZE once, at launch,
 * and its default (here: two threads on two cores) queues every fsync of a busy push behind two
 * others: measured, 16 clients pushing 1 MiB images went from ~40 to 54–58 images/s with 16
 * threads. So a `serve` launched without the variable starts itself again (same PID, same
 * arguments, `process.execve`) with it set; an operator's own value is kept.
 */
const THREADS = "16";

export function ensureThreadPool(): void {
  if (process.env.UV_THREADPOOL_SIZE !== undefined || typeof process.execve !== "function") return;
  const [, script, ...args] = process.argv;
  // a compiled binary's script lives in its embedded file system; `bun src/main.ts` needs it named
  const argv = script === undefined || script.startsWith("/$bunfs/") ? [process.execPath, ...args] : [process.execPath, script, ...args];
  try {
    process.execve(process.execPath, argv, { ...process.env, UV_THREADPOOL_SIZE: THREADS });
  } catch {
    // cannot start again (no permission to exec itself): serve with the default pool
  }
}
