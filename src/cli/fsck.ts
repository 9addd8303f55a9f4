/**
 * `berth fsck [--repair]`: checks the storage tree against the metadata index both ways and
 * every blob's data against its digest (metadata/fsck.ts). Checking only reads, so it runs
 * beside a server; `--repair` makes the index agree with the tree. With no server it takes the
 * root's lock and settles each difference found; when a server holds the root the check still
 * runs here, read-only, and the repair is the server's: it rebuilds its index from the tree
 * while it serves (POST /api/v1/index/rebuild on the admin socket), each repository under its
 * lock, since only the server may write its index and it knows which changes are in flight.
 * It never deletes data: a corrupt blob is reported with what to do.
 */
import { checkIndex, type Finding, type FsckProgress, repairIndex } from "../metadata/fsck.ts";
import { rowsOf } from "../metadata/rows.ts";
import { type Digest, parseDigest } from "../oci/digest.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { lockOrServer, storageTarget, throttled, withStorage } from "./storage-access.ts";

export const FSCK_HELP = `Usage: berth fsck [--repair] [--config FILE]

Checks the storage tree against the metadata index both ways (repositories, manifests, tags,
layer links, blobs and their sizes) and re-hashes every blob to check its data against its
digest. Prints progress, each problem found and a summary; exits 0 when everything agrees,
1 when anything is wrong. Checking only reads: it is safe while a server runs.

--repair makes the index agree with the tree. When a server runs on the storage root, the
check runs here and the server rebuilds its index from the tree (asked through its admin
socket, <storage.root>/berth/admin.sock; no credentials). It never changes the tree: a blob
whose data does not match its digest is reported with the manifests that use it and what to do.`;

/** Re-hashes a blob's data as it streams; null when it is gone meanwhile. */
async function hashBlob(driver: StorageDriver, digest: Digest): Promise<string | null> {
  const hasher = new Bun.CryptoHasher(digest.algorithm);
  try {
    for await (const chunk of driver.blob(paths.blobData(digest)).stream()) hasher.update(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return `${digest.algorithm}:${hasher.digest("hex")}`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function progressLine(progress: FsckProgress): string {
  return `fsck: ${progress.phase}: ${progress.blobs} blobs (${mib(progress.bytes)}) hashed, ${progress.repositories} repositories checked`;
}

function parseArgs(argv: string[]): { repair: boolean } {
  let repair = false;
  for (const arg of argv) {
    if (arg === "--repair") repair = true;
    else throw new Error(`unexpected argument "${arg}" (see berth fsck --help)`);
  }
  return { repair };
}

/** @returns the exit code: 0 when nothing is wrong (after the repair, with --repair), 1 otherwise */
export async function fsckCommand(argv: string[], configFile: string | undefined): Promise<number> {
  const { repair } = parseArgs(argv);
  const target = storageTarget(configFile);
  const server = repair ? lockOrServer(target.root) : null;
  const locked = repair && server === null;
  return withStorage(target, async ({ index, tree, driver, delayMs, root }) => {
    if (locked) await index.recover(tree);
    if (!(await index.isBuilt())) {
      process.stdout.write("fsck: the metadata index has not been built yet: run berth index rebuild (or start berth, which builds it)\n");
      return 1;
    }
    const print = throttled();
    const findings = await checkIndex(index, tree, {
      hash: (digest) => hashBlob(driver, digest),
      progress: (progress) => print(progressLine(progress), progress.phase === "done"),
      settleMs: locked ? 0 : 1_000, // no second look when nothing else can write
    });
    for (const finding of findings) process.stdout.write(`${finding.indexOnly ? "index" : "storage"}: ${finding.message}\n`);
    const indexOnly = findings.filter((finding) => finding.indexOnly).length;
    const storage = findings.length - indexOnly;
    if (findings.length === 0) {
      process.stdout.write("fsck: clean: the index agrees with the storage and every blob matches its digest\n");
      return 0;
    }
    if (server && indexOnly > 0) {
      server.announce();
      const rebuilt = await server.rebuildIndex();
      process.stdout.write(`fsck: repaired ${indexOnly} difference(s): the server rebuilt its index from the storage (${rebuilt.repositories} repositories, ${rebuilt.manifests} manifests, ${rebuilt.blobs} blobs)\n`);
    } else if (repair && indexOnly > 0) {
      await repairIndex(index, tree, findings, delayMs);
      process.stdout.write(`fsck: repaired ${indexOnly} difference(s) in the index from the storage\n`);
    } else if (indexOnly > 0) {
      process.stdout.write(`fsck: ${indexOnly} difference(s) between the index and the storage: berth fsck --repair fixes the index\n`);
    }
    if (storage > 0) {
      process.stdout.write(`fsck: ${storage} problem(s) in the storage itself, which --repair does not change:\n`);
      await adviseStorage(index.database.sql, root, findings);
    }
    return storage > 0 || !repair ? 1 : 0;
  });
}

/** What to do about problems in the tree, with the manifests a corrupt or missing blob breaks. */
async function adviseStorage(sql: Bun.SQL, root: string, findings: readonly Finding[]): Promise<void> {
  const write = (text: string) => process.stdout.write(`  ${text}\n`);
  for (const finding of findings) {
    if (finding.kind === "corrupt-blob" && finding.digest !== null) {
      const digest = finding.digest;
      const users = rowsOf(await sql`SELECT repository, digest FROM manifest_references WHERE child = ${digest}
                                     UNION SELECT repository, digest FROM manifests WHERE digest = ${digest}`);
      const names = users.map((row) => `${String(row.repository)}@${String(row.digest)}`);
      const path = `${root}/${paths.blobData(parseDigest(digest))}`;
      const used = names.length > 0 ? `, then push again what uses it: ${names.join(", ")}` : " (no manifest uses it)";
      write(`${digest}: its data is corrupt. Move ${path} away (keep it until the images are pushed again)${used}`);
    } else if (finding.kind === "missing-blob") {
      write(`${finding.message}: push that image again`);
    } else if (finding.kind === "unreadable-manifest") {
      write(`${finding.message}: push that manifest again, or delete it`);
    }
  }
}
