/**
 * `berth migrate --to FILE`: moves a single-process Berth to the storage and metadata database
 * another configuration names (S3 and PostgreSQL, for several replicas): the storage object by
 * object (src/migrate/storage-copy.ts), then the index table by table (metadata-copy.ts). The
 * source must be at rest: migrate holds its root's lock, so no server runs on it meanwhile.
 */
import { existsSync, mkdirSync } from "node:fs";
import { MetadataDatabase } from "../metadata/database.ts";
import { MetadataIndex } from "../metadata/index.ts";
import { rowsOf } from "../metadata/rows.ts";
import { copyMetadata, countRows, occupiedTables, type TableCount, TargetNotEmptyError } from "../migrate/metadata-copy.ts";
import { checkDistinct, databaseLocation, describe, loadTarget, type Place, sqliteFile } from "../migrate/places.ts";
import { copyStorage, type StorageCopyReport } from "../migrate/storage-copy.ts";
import { treeReader } from "../registry/tree-reader.ts";
import { createDriver } from "../storage/create.ts";
import type { StorageDriver, WalkEntry } from "../storage/driver.ts";
import { applyStorageMode } from "../storage/modes.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";
import { storageTarget, throttled } from "./storage-access.ts";

export const MIGRATE_HELP = `Usage: berth migrate --to FILE [--config FILE] [--storage-only|--metadata-only] [--dry-run]

Copies this Berth's data to the storage and metadata database that the configuration FILE
names (typically [storage] driver = "s3" with [storage.s3], and [metadata] url =
"postgres://..."), to move from one process to several replicas (docs/scale-out.md).

Storage: blobs, manifests, tags, links, uploads in progress, the referrers index and the token
signing key, through the storage drivers. Each blob's bytes are checked against its digest
while they are copied: a corrupt blob is refused and nothing of it is left at the target. An
object already at the target with the same size is skipped: run migrate again to resume.
Metadata: every table of the index, robots and namespaces included (the storage cannot
rebuild them), into an empty database only, in one transaction. Changes a stop interrupted
(the index's journal) are settled first, as serve does when it starts.

The source is what serve would read (--config, BERTH_* variables); FILE is read alone
(BERTH_* and REGISTRY_* variables describe the source; AWS_* credentials apply to both).
No server may run on the source: migrate takes its storage root's lock. Start the target's
servers when migrate has finished. Plugins' data (<storage.root>/berth/plugins) is not copied:
the first replica started on this storage root adopts it into the shared database.

  --storage-only    copy the storage alone (the index is already shared, or is rebuilt)
  --metadata-only   copy the index alone
  --dry-run         list what would be copied; change nothing
Progress goes to standard error; the exit status is non-zero when anything failed.`;

interface MigrateOptions {
  to: string;
  storage: boolean;
  metadata: boolean;
  dryRun: boolean;
}

function parseOptions(args: string[]): MigrateOptions {
  let to: string | undefined;
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--to") {
      to = args[++i];
      if (to === undefined) throw new Error("--to needs a configuration file");
    } else if (arg.startsWith("--to=")) {
      to = arg.slice("--to=".length);
    } else if (["--storage-only", "--metadata-only", "--dry-run"].includes(arg)) {
      flags.add(arg);
    } else {
      throw new Error(`unknown argument "${arg}" (see berth migrate --help)`);
    }
  }
  if (to === undefined || to === "") throw new Error("berth migrate needs --to FILE: the configuration of the storage and database to copy to");
  if (flags.has("--storage-only") && flags.has("--metadata-only")) throw new Error("--storage-only and --metadata-only exclude each other");
  return { to, storage: !flags.has("--metadata-only"), metadata: !flags.has("--storage-only"), dryRun: flags.has("--dry-run") };
}

/** @returns the exit status */
export async function migrateCommand(args: string[], configFile: string | undefined): Promise<number> {
  const options = parseOptions(args);
  const source = storageTarget(configFile);
  const target = loadTarget(options.to);
  checkDistinct(source, target, options);
  lockSource(source.root);
  lockTargetRoot(source, target, options);
  const from = describe(source);
  const to = describe(target);
  if (options.storage) note(`storage: ${from.storage} -> ${to.storage}`);
  if (options.metadata) note(`metadata: ${from.metadata} -> ${to.metadata}`);

  const sourceDriver = createDriver(source.resolved.storage);
  const sourceIndex = options.metadata ? await openSourceIndex(source, sourceDriver) : null;
  let targetDatabase: MetadataDatabase | null = null;
  try {
    if (sourceIndex !== null) {
      targetDatabase = await openTargetDatabase(target, options.dryRun);
      // before any byte moves: copying the storage to find the index refused would waste it
      const occupied = targetDatabase === null ? [] : await occupiedTables(targetDatabase.sql);
      if (occupied.length > 0) throw new TargetNotEmptyError(occupied);
      await settleJournal(sourceIndex, sourceDriver, options.dryRun);
    }
    if (options.storage) {
      const report = await copyStorageHalf(sourceDriver, target, options.dryRun);
      if (report.failures.length > 0) {
        for (const failure of report.failures) process.stderr.write(`berth migrate: ${failure}\n`);
        const skipped = options.metadata ? "; the index was not copied" : "";
        process.stderr.write(`berth migrate: ${report.failures.length} objects could not be copied${skipped}: repair the source (berth fsck) and run berth migrate again (what was copied is skipped)\n`);
        return 1;
      }
    }
    if (sourceIndex !== null) await copyMetadataHalf(sourceIndex, targetDatabase, options.dryRun);
  } finally {
    await targetDatabase?.close();
    await sourceIndex?.close();
  }
  if (!options.dryRun) printNextSteps(source, target, options);
  return 0;
}

function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Holds the source root for the life of the process: no server may change what is copied. */
function lockSource(root: string): void {
  try {
    const lock = lockStorageRoot(root);
    if (!lock.held) throw new Error(`cannot lock the source storage root (${lock.path}: read-only, or no flock): make sure no Berth serves it, then copy it another way`);
  } catch (error) {
    if (!(error instanceof RootLockedError)) throw error;
    const who = error.pid === null ? "a Berth server" : `a Berth server (PID ${error.pid})`;
    throw new Error(`${who} runs on the source storage root ${root}: stop it first; berth migrate copies a registry no process changes`);
  }
}

/** A target that keeps something under its root (files, SQLite) must not be served meanwhile either. */
function lockTargetRoot(source: Place, target: Place, options: MigrateOptions): void {
  const usesRoot = (options.storage && target.resolved.storage.driver === "filesystem") || (options.metadata && sqliteFile(target) !== null);
  if (!usesRoot || options.dryRun || target.root === source.root) return;
  if (target.resolved.storage.driver === "filesystem") applyStorageMode(target.resolved.storage.mode);
  mkdirSync(target.root, { recursive: true });
  try {
    lockStorageRoot(target.root);
  } catch (error) {
    if (!(error instanceof RootLockedError)) throw error;
    throw new Error(`a Berth server${error.pid === null ? "" : ` (PID ${error.pid})`} runs on the target storage root ${target.root}: stop it, migrate, then start it`);
  }
}

async function openSourceIndex(source: Place, driver: StorageDriver): Promise<MetadataIndex> {
  return MetadataIndex.open(databaseLocation(source), { delayMs: source.resolved.gc.delayMs, syncTree: () => driver.sync() });
}

/** null in a dry run when the target's SQLite file does not exist yet (empty; not created for a look). */
async function openTargetDatabase(target: Place, dryRun: boolean): Promise<MetadataDatabase | null> {
  const file = sqliteFile(target);
  if (dryRun && file !== null && !existsSync(file)) return null;
  return MetadataDatabase.open(databaseLocation(target));
}

/** Settles what a stop left half done, so the index copied is the tree's. */
async function settleJournal(index: MetadataIndex, driver: StorageDriver, dryRun: boolean): Promise<void> {
  if (dryRun) {
    const pending = rowsOf(await index.database.sql`SELECT count(*) AS n FROM journal`)[0]?.n;
    if (Number(pending ?? 0) > 0) note(`metadata: ${String(pending)} changes a stop interrupted would be settled first`);
    return;
  }
  const settled = await index.recover(treeReader(driver));
  if (settled > 0) note(`metadata: settled ${settled} changes a stop interrupted`);
}

async function copyStorageHalf(source: StorageDriver, target: Place, dryRun: boolean): Promise<StorageCopyReport> {
  const local = target.resolved.storage.driver === "filesystem";
  // a dry run creates nothing: a root not made yet holds nothing, as an empty driver does
  if (local && !dryRun) mkdirSync(target.root, { recursive: true });
  const driver = local && !existsSync(target.root) ? createDriver({ driver: "inmemory", root: "" }) : createDriver(target.resolved.storage);
  const progress = throttled();
  const verb = dryRun ? "would copy" : "copied";
  const report = await copyStorage(source, driver, {
    dryRun,
    ...(dryRun ? { onObject: (entry: WalkEntry) => process.stdout.write(`would copy ${entry.path} (${entry.size} bytes)\n`) } : {}),
    progress: (r, final) => progress(`storage: ${verb} ${r.copied} objects (${mebibytes(r.bytes)}), skipped ${r.skipped}${r.failures.length > 0 ? `, ${r.failures.length} failed` : ""}`, final),
  });
  process.stdout.write(`storage: ${verb} ${report.copied} objects (${report.bytes} bytes), skipped ${report.skipped} already at the target (same size)\n`);
  return report;
}

async function copyMetadataHalf(source: MetadataIndex, target: MetadataDatabase | null, dryRun: boolean): Promise<void> {
  if (!(await source.isBuilt())) note("metadata: the source index was never built: the target builds it from the storage when it first starts");
  let counts: TableCount[];
  if (dryRun) {
    counts = await countRows(source.database.sql);
  } else {
    if (target === null) throw new Error("no target database"); // opened above unless dry run
    const progress = throttled();
    counts = await copyMetadata(source.database.sql, target, (table, rows) => progress(`metadata: ${table}: ${rows} rows`));
  }
  const verb = dryRun ? "would copy" : "copied";
  process.stdout.write(`metadata: ${verb} ${counts.map((c) => `${c.table} ${c.rows}`).join(", ")} rows\n`);
}

function printNextSteps(source: Place, target: Place, options: MigrateOptions): void {
  const to = describe(target);
  const lines = [
    `berth migrate: done. Serve from the target from now on (berth serve --config ${options.to}, the same file on every replica):`,
    `  storage ${to.storage}; metadata ${options.metadata ? to.metadata : "not copied (--storage-only)"}`,
    "  Stop using the source: what it changes later is not in the target (run migrate again into an empty database to copy it anew).",
    `  Plugins' data (webhook queue, replication queue, retention undo records and runs, signing states) under ${source.root}/berth/plugins`,
    `  was not copied: start the first replica with storage.root = ${source.root} (or move berth/plugins to its storage.root)`,
    "  and it adopts that data into the shared database once.",
  ];
  if (!options.metadata) lines.push("  Without the index the target builds one from the storage at its first start, with no robots and namespaces unless its database has them.");
  process.stdout.write(`${lines.join("\n")}\n`);
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
