/**
 * The admin socket: `<storage.root>/berth/admin.sock`, a unix socket on which `serve` answers
 * the operator's commands run on this machine (`berth gc`, `berth index rebuild`, `berth repo
 * delete`, `berth fsck --repair`) without credentials. Who may connect is what the file
 * system says: the socket is 0600, owned by the server's user, in berth/ (0700), so only that
 * user (and root) can, the same people who can change the storage directly. Its app has no
 * access layer and serves /api/ and /healthz only (app.ts, `operator`).
 *
 * Only the process holding the root's lock (storage/root-lock.ts) calls `open`: it replaces a
 * socket file a killed server left, and a second server, refused the lock, never gets here.
 */
import type { Server } from "bun";
import { chmodSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import { errnoCode } from "../storage/conditions.ts";
import { PRIVATE_FILE_MODE } from "../storage/modes.ts";
import { paths } from "../storage/paths.ts";

export interface AdminHandlers {
  fetch(request: Request): Response | Promise<Response>;
  error(error: Error): Response;
}

export function adminSocketPath(root: string): string {
  return join(root, paths.adminSocket());
}

export class AdminSocket {
  private constructor(
    readonly path: string,
    private readonly server: Server<undefined>,
    private readonly current: { handlers: AdminHandlers },
  ) {}

  /**
   * Listens on the root's admin socket, replacing a file left there. Not fatal: without it
   * the registry serves as before and the commands say they cannot reach it.
   * @returns null (after a warning) when the socket cannot be made
   */
  static open(root: string, handlers: AdminHandlers, log: Logger): AdminSocket | null {
    const path = adminSocketPath(root);
    const current = { handlers };
    try {
      removeFile(path); // left by a server killed with kill -9: this process holds the lock, so it is nobody's
      const server = Bun.serve({
        unix: path,
        development: false,
        fetch: (request, server) => {
          server.timeout(request, 0); // a GC run or an index rebuild answers when it is done, however long that takes
          return current.handlers.fetch(request);
        },
        error: (error) => current.handlers.error(error),
      });
      chmodSync(path, PRIVATE_FILE_MODE); // berth/ is 0700 already: nobody else could reach it meanwhile
      return new AdminSocket(path, server, current);
    } catch (error) {
      const code = errnoCode(error) ?? String(error);
      const hint = code === "ENAMETOOLONG" ? " (the storage root's path is too long for a unix socket: about 100 bytes at most)" : "";
      log("warn", "no admin socket: berth gc, index rebuild, repo delete and fsck --repair cannot reach this server", { path, error: `${code}${hint}` });
      return null;
    }
  }

  /** Requests from now on go to `handlers` (SIGHUP). */
  use(handlers: AdminHandlers): void {
    this.current.handlers = handlers;
  }

  /** Stops accepting, finishes the requests in flight, removes the file. */
  async stop(): Promise<void> {
    await this.server.stop();
    try {
      removeFile(this.path); // Bun removes it too; a file left over is replaced at the next start anyway
    } catch {
      // nothing to do at shutdown
    }
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
}
