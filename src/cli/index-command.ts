/**
 * `berth index rebuild`: builds the metadata index again from the directory tree, the source
 * of truth (after a restore, a copy made by another program, or a lost index file). Runs with
 * the storage root locked: a running server keeps its own index up to date.
 */
import { rebuildIndex, type RebuildProgress } from "../metadata/rebuild.ts";
import { throttled, withStorage } from "./storage-access.ts";

export const INDEX_HELP = `Usage: berth index rebuild [--config FILE]

Builds the metadata index (repositories, tags, manifests, blobs, references) again from the
storage tree, which stays the source of truth, and prints progress and a summary. The index
is <storage.root>/berth/metadata.db, or the PostgreSQL database [metadata] url names.
Refused while a server runs on the storage root: a running server keeps its index itself
(and builds it in the background when it starts over a tree it never indexed). Safe to
interrupt: run it again.`;

function line(progress: RebuildProgress): string {
  return `index rebuild: ${progress.phase}: ${progress.blobs} blobs, ${progress.repositories} repositories, ${progress.manifests} manifests`;
}

export async function indexCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, ...extra] = argv;
  if (sub !== "rebuild") throw new Error(`unknown index command "${sub ?? ""}" (berth index rebuild)`);
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}" (see berth index --help)`);
  await withStorage({ configFile, exclusive: true, whileServing: "let it keep the index (it rebuilds a missing index itself at start)" }, async ({ index, tree, delayMs, root }) => {
    const started = Date.now();
    const print = throttled();
    // changes a crash left half done would be settled at the next start anyway; the rebuild makes them moot
    await index.recover(tree);
    const report = await rebuildIndex(index, tree, { delayMs, progress: (progress) => print(line(progress), progress.phase === "done") });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `index rebuilt for ${root}: ${report.repositories} repositories, ${report.manifests} manifests, ${report.blobs} blobs in ${seconds} s\n`,
    );
  });
}
