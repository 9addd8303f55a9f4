/**
 * `berth index rebuild`: builds the metadata index again from the directory tree, the source
 * of truth (after a restore, a copy made by another program, or a lost index file). With no
 * server it runs here with the storage root locked; when a server holds the root it asks it
 * (POST /api/v1/index/rebuild on the admin socket), which rebuilds each repository under its
 * lock while it serves.
 */
import { rebuildIndex, type RebuildProgress } from "../metadata/rebuild.ts";
import { lockOrServer, storageTarget, throttled, withStorage } from "./storage-access.ts";

export const INDEX_HELP = `Usage: berth index rebuild [--config FILE]

Builds the metadata index (repositories, tags, manifests, blobs, references) again from the
storage tree, which stays the source of truth, and prints progress and a summary. The index
is <storage.root>/berth/metadata.db, or the PostgreSQL database [metadata] url names.
When a server runs on the storage root, it does the rebuild while it serves (asked through
its admin socket, <storage.root>/berth/admin.sock; no credentials) and the summary is
printed at the end. Safe to interrupt: run it again.`;

function line(progress: RebuildProgress): string {
  return `index rebuild: ${progress.phase}: ${progress.blobs} blobs, ${progress.repositories} repositories, ${progress.manifests} manifests`;
}

function summary(root: string, counts: { repositories: number; manifests: number; blobs: number }, ms: number): string {
  return `index rebuilt for ${root}: ${counts.repositories} repositories, ${counts.manifests} manifests, ${counts.blobs} blobs in ${(ms / 1000).toFixed(1)} s\n`;
}

export async function indexCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, ...extra] = argv;
  if (sub !== "rebuild") throw new Error(`unknown index command "${sub ?? ""}" (berth index rebuild)`);
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}" (see berth index --help)`);
  const target = storageTarget(configFile);
  const server = lockOrServer(target.root);
  if (server) {
    server.announce();
    const report = await server.rebuildIndex();
    process.stderr.write(`${line({ phase: "done", ...report })}\n`);
    process.stdout.write(summary(server.root, report, report.durationMs));
    return;
  }
  await withStorage(target, async ({ index, tree, delayMs, root }) => {
    const started = Date.now();
    const print = throttled();
    // changes a crash left half done would be settled at the next start anyway; the rebuild makes them moot
    await index.recover(tree);
    const report = await rebuildIndex(index, tree, { delayMs, progress: (progress) => print(line(progress), progress.phase === "done") });
    process.stdout.write(summary(root, report, Date.now() - started));
  });
}
