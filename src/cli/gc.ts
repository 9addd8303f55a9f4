/**
 * `berth gc [--dry-run] [--config FILE]`: one GC run on the storage the configuration names.
 * When a server holds the storage root it is asked instead (POST /api/v1/gc on its admin
 * socket, no credentials): two processes must never collect one root. Without a server, this
 * process takes the root's lock for the run.
 */
import { composeRegistry } from "../compose.ts";
import { loadConfiguration } from "../config/load.ts";
import type { GcProgress } from "../gc/collector.ts";
import { createLogger } from "../log.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";
import { type GcSummary, ServerClient } from "./server-client.ts";

export const GC_HELP = `Usage: berth gc [--dry-run] [--config FILE]

Deletes blobs nothing references whose review time ([gc] delay after they were last used) has
come, and, when [gc] untagged is set, manifests with no tag and no pull for that long. Prints
each deletion and a summary. --dry-run lists what would go and deletes nothing.

A running server collects by itself every [gc] interval. When one holds the storage root,
berth gc asks it to run now through its admin socket (<storage.root>/berth/admin.sock): no
credentials, whatever [auth] says; run it as the user the server runs as.`;

export async function gcCommand(configFile: string | undefined, dryRun: boolean): Promise<void> {
  const loaded = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const { resolved } = loaded;
  if (resolved.storage.driver === "inmemory") throw new Error("storage.driver is inmemory: there is no stored data to collect outside the server");
  try {
    lockStorageRoot(resolved.storage.root);
  } catch (error) {
    if (!(error instanceof RootLockedError)) throw error;
    const server = new ServerClient(resolved.storage.root, error.pid);
    server.announce();
    return printReport(await server.collectGarbage(dryRun));
  }
  const log = createLogger({ ...resolved.log, level: "warn" });
  const composed = await composeRegistry({ loaded, log, instanceAddr: () => "berth-gc" });
  try {
    await composed.indexBuilt;
    const report = await composed.registry.collectGarbage({ dryRun, progress: (event) => process.stdout.write(deletionLine(dryRun, event)) });
    printSummary(report);
  } finally {
    await composed.close();
  }
}

function deletionLine(dryRun: boolean, event: GcProgress): string {
  const verb = dryRun ? "would delete" : "deleted";
  return event.kind === "blob" ? `${verb} blob ${event.digest} (${event.size} bytes)\n` : `${verb} manifest ${event.repository}@${event.digest}\n`;
}

/** The server's run, printed as a run here prints (each deletion, then the summary). */
function printReport(report: GcSummary): void {
  for (const manifest of report.manifests) process.stdout.write(deletionLine(report.dryRun, { kind: "manifest", ...manifest }));
  for (const blob of report.blobs) process.stdout.write(deletionLine(report.dryRun, { kind: "blob", ...blob }));
  printSummary(report);
}

function printSummary(report: Pick<GcSummary, "dryRun" | "blobsDeleted" | "bytesFreed" | "manifestsDeleted" | "errors">): void {
  for (const error of report.errors) process.stderr.write(`berth gc: could not delete ${error}\n`);
  const verb = report.dryRun ? "would delete" : "deleted";
  process.stdout.write(`${verb} ${report.blobsDeleted} blobs (${report.bytesFreed} bytes freed) and ${report.manifestsDeleted} manifests\n`);
}
