/**
 * The commands' side of the admin socket (admin-socket.ts): when a server holds the storage
 * root, `berth gc`, `berth index rebuild`, `berth repo delete` and `berth fsck --repair` ask it
 * over `<root>/berth/admin.sock` instead of changing the storage beside it. No credentials:
 * being able to connect is the permission (the socket is the server's user's only).
 */
import type { RebuildSummary } from "../api-v1-admin/index-routes.ts";
import type { GcReport } from "../gc/collector.ts";
import { errnoCode } from "../storage/conditions.ts";
import { adminSocketPath } from "./admin-socket.ts";

/** What the commands print of a GC run, done here or by the server. */
export type GcSummary = Pick<GcReport, "dryRun" | "blobsDeleted" | "bytesFreed" | "manifestsDeleted" | "errors"> & {
  blobs: Array<{ digest: string; size: number }>;
  manifests: Array<{ repository: string; digest: string }>;
};

/** A non-2xx answer: the status and the first error of the envelope. */
export class ServerRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`the server answered ${status} ${code}${detail === "" ? "" : `: ${detail}`}`);
    this.name = "ServerRefused";
  }
}

export class ServerClient {
  readonly socketPath: string;

  /** `pid`: the lock holder's, from the lock file (null when unknown) */
  constructor(
    readonly root: string,
    readonly pid: number | null,
  ) {
    this.socketPath = adminSocketPath(root);
  }

  /** Says on standard error that the server does the work (standard output stays the results). */
  announce(): void {
    process.stderr.write(`berth: a server${this.who()} holds the storage root: asking it through ${this.socketPath}\n`);
  }

  /**
   * @returns the JSON body of a 2xx answer; null when it has none (204)
   * @throws ServerRefused for any other answer; Error with what to do when the server cannot be reached
   */
  async request(method: "GET" | "POST" | "DELETE", path: string, payload?: unknown): Promise<unknown> {
    let response: Response;
    try {
      const json = payload === undefined ? {} : { body: JSON.stringify(payload), headers: { "Content-Type": "application/json" } };
      // no time limit: a GC run or a rebuild answers when it is done (Ctrl-C stops waiting, not the work)
      response = await fetch(`http://berth${path}`, { method, unix: this.socketPath, timeout: false, ...json });
    } catch (error) {
      throw new Error(this.unreachable(errnoCode(error) ?? "", error instanceof Error ? error.message : String(error)));
    }
    const text = await response.text();
    if (!response.ok) {
      const first = firstError(parseJson(text));
      throw new ServerRefused(response.status, first?.code ?? "", first?.message ?? text.slice(0, 300));
    }
    if (text === "") return null;
    const body = parseJson(text);
    if (body === undefined) throw new Error(`the server answered ${method} ${path} with something other than JSON: ${text.slice(0, 200)}`);
    return body;
  }

  /** POST /api/v1/index/rebuild: the server rebuilds the index while it serves. */
  async rebuildIndex(): Promise<RebuildSummary> {
    const fields = fieldsOf(await this.request("POST", "/api/v1/index/rebuild"));
    if (fields === null) throw new Error("the server did not answer a rebuild summary");
    const count = (name: string) => numberField(fields, name);
    return { repositories: count("repositories"), manifests: count("manifests"), blobs: count("blobs"), durationMs: count("duration_ms") };
  }

  /** POST /api/v1/gc: one GC run now on the server. */
  async collectGarbage(dryRun: boolean): Promise<GcSummary> {
    const fields = fieldsOf(await this.request("POST", `/api/v1/gc${dryRun ? "?dry_run=true" : ""}`));
    if (fields === null) throw new Error("the server did not answer a GC report");
    const list = (name: string) => {
      const value = fields[name];
      return Array.isArray(value) ? value.map(fieldsOf).filter((item) => item !== null) : [];
    };
    const text = (item: Record<string, unknown>, name: string) => (typeof item[name] === "string" ? item[name] : "");
    const errors = fields.errors;
    return {
      dryRun: fields.dry_run === true,
      blobsDeleted: numberField(fields, "blobs_deleted"),
      bytesFreed: numberField(fields, "bytes_freed"),
      manifestsDeleted: numberField(fields, "manifests_deleted"),
      blobs: list("blobs").map((item) => ({ digest: text(item, "digest"), size: numberField(item, "size") })),
      manifests: list("manifests").map((item) => ({ repository: text(item, "repository"), digest: text(item, "digest") })),
      errors: Array.isArray(errors) ? errors.filter((error): error is string => typeof error === "string") : [],
    };
  }

  /** DELETE /api/v1/repositories/NAME: the server deletes the whole repository. */
  async deleteRepository(name: string): Promise<void> {
    await this.request("DELETE", `/api/v1/repositories/${name}`);
  }

  private who(): string {
    return this.pid === null ? "" : ` (PID ${this.pid})`;
  }

  private unreachable(code: string, message: string): string {
    const holder = `another Berth process${this.who()} holds the storage root ${this.root}`;
    switch (code) {
      case "ENOENT":
      case "ECONNREFUSED":
        return `${holder} but does not answer on ${this.socketPath} (${code}): a server still starting, one older than this command, or another command such as berth index rebuild; try again when it is up or done`;
      case "EACCES":
      case "EPERM":
        return `${holder}; its admin socket ${this.socketPath} refuses this user (${code}): run this command as the user the server runs as`;
      case "ENAMETOOLONG":
        return `${holder}; its admin socket path ${this.socketPath} is too long for a unix socket: stop the server to run this command`;
      default:
        return `${holder} and the request on ${this.socketPath} failed (${message}): if the server stopped meanwhile, run the command again`;
    }
  }
}

/** The JSON of an answer's body, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first `{code, message}` of an error envelope `{"errors": [...]}`, or null. */
export function firstError(body: unknown): { code: string; message: string } | null {
  const errors = fieldsOf(body)?.errors;
  const first = Array.isArray(errors) ? fieldsOf(errors[0]) : null;
  if (!first) return null;
  return { code: typeof first.code === "string" ? first.code : "", message: typeof first.message === "string" ? first.message : "" };
}

/** A JSON object's fields, or null when `value` is not an object. */
export function fieldsOf(value: unknown): Record<string, unknown> | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  return Object.fromEntries(Object.entries(value));
}

/** A number field, 0 when absent or not a number. */
export function numberField(fields: Record<string, unknown>, name: string): number {
  const value = fields[name];
  return typeof value === "number" ? value : 0;
}
