/**
 * `berth gc [--dry-run] [--config FILE]`: one GC run on the storage the configuration names.
 * When a server holds the storage root it is asked instead (POST /api/v1/gc on http.addr):
 * two processes must never collect one root. Without a server, this process takes the root's
 * lock for the run.
 */
import { composeRegistry } from "../compose.ts";
import { loadConfiguration, type ResolvedConfig } from "../config/load.ts";
import type { GcReport } from "../gc/collector.ts";
import { createLogger } from "../log.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";
import { parseListenAddress } from "./preflight.ts";

export const GC_HELP = `Usage: berth gc [--dry-run] [--config FILE]

Deletes blobs nothing references whose review time ([gc] delay after they were last used) has
come, and, when [gc] untagged is set, manifests with no tag and no pull for that long. Prints
each deletion and a summary. --dry-run lists what would go and deletes nothing.

A running server collects by itself every [gc] interval. When one holds the storage root,
berth gc asks it (POST /api/v1/gc on http.addr); with [auth] on, call that as an admin.`;

export async function gcCommand(configFile: string | undefined, dryRun: boolean): Promise<void> {
  const loaded = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const { resolved } = loaded;
  if (resolved.storage.driver === "inmemory") throw new Error("storage.driver is inmemory: there is no stored data to collect outside the server");
  try {
    lockStorageRoot(resolved.storage.root);
  } catch (error) {
    if (!(error instanceof RootLockedError)) throw error;
    return askServer(resolved, dryRun, error);
  }
  const log = createLogger({ ...resolved.log, level: "warn" });
  const composed = await composeRegistry({ loaded, log, instanceAddr: () => "berth-gc" });
  try {
    await composed.indexBuilt;
    const report = await composed.registry.collectGarbage({
      dryRun,
      progress: (event) => {
        const verb = dryRun ? "would delete" : "deleted";
        if (event.kind === "blob") process.stdout.write(`${verb} blob ${event.digest} (${event.size} bytes)\n`);
        else process.stdout.write(`${verb} manifest ${event.repository}@${event.digest}\n`);
      },
    });
    printSummary(report);
  } finally {
    await composed.close();
  }
}

async function askServer(resolved: ResolvedConfig, dryRun: boolean, locked: RootLockedError): Promise<void> {
  if (resolved.auth.htpasswd !== "") {
    throw new Error(`${locked.message.split(";")[0]}; it collects garbage itself every [gc] interval; to run it now, POST /api/v1/gc as an admin`);
  }
  const { hostname, port } = parseListenAddress(resolved.http.addr);
  const host = hostname === "0.0.0.0" || hostname === "" ? "127.0.0.1" : hostname === "::" ? "[::1]" : hostname.includes(":") ? `[${hostname}]` : hostname;
  const scheme = resolved.http.tls.certificate === "" ? "http" : "https";
  const url = `${scheme}://${host}:${port}/api/v1/gc${dryRun ? "?dry_run=true" : ""}`;
  process.stdout.write(`a server holds the storage root: asking it (POST ${url})\n`);
  let response: Response;
  try {
    // the server's own certificate may not name 127.0.0.1: this is the same machine
    response = await fetch(url, { method: "POST", tls: { rejectUnauthorized: false }, signal: AbortSignal.timeout(30 * 60_000) });
  } catch (error) {
    throw new Error(`${locked.message.split(";")[0]} and cannot be reached at ${url} (${error instanceof Error ? error.message : String(error)}): stop it, or POST /api/v1/gc to it`);
  }
  if (!response.ok) throw new Error(`the server at ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const report = reportOf(await response.json());
  if (report === null) throw new Error(`the server at ${url} did not answer a GC report`);
  printSummary(report);
}

function reportOf(value: unknown): Pick<GcReport, "dryRun" | "blobsDeleted" | "bytesFreed" | "manifestsDeleted" | "errors"> | null {
  if (typeof value !== "object" || value === null) return null;
  const record: Record<string, unknown> = Object.fromEntries(Object.entries(value));
  const field = (name: string) => record[name];
  const n = (name: string) => {
    const found = field(name);
    return typeof found === "number" ? found : 0;
  };
  const errors = field("errors");
  return {
    dryRun: field("dryRun") === true,
    blobsDeleted: n("blobsDeleted"),
    bytesFreed: n("bytesFreed"),
    manifestsDeleted: n("manifestsDeleted"),
    errors: Array.isArray(errors) ? errors.filter((e): e is string => typeof e === "string") : [],
  };
}

function printSummary(report: Pick<GcReport, "dryRun" | "blobsDeleted" | "bytesFreed" | "manifestsDeleted" | "errors">): void {
  for (const error of report.errors) process.stderr.write(`berth gc: could not delete ${error}\n`);
  const verb = report.dryRun ? "would delete" : "deleted";
  process.stdout.write(`${verb} ${report.blobsDeleted} blobs (${report.bytesFreed} bytes freed) and ${report.manifestsDeleted} manifests\n`);
}
