/**
 * `berth repo delete NAME`: removes a whole repository from the tree (its manifests, tags,
 * layer links, uploads and Berth's referrers of it; never a nested repository below it) and
 * from the index. Journaled like every change: a crash part-way is settled from the tree at
 * the next start. The blobs only it used wait in the GC queue ([gc] delay), as after a
 * manifest delete. When a server holds the storage root, it is asked to do it instead.
 */
import { deleteRepositoryRows } from "../metadata/delete-repository.ts";
import { assertRepositoryName } from "../oci/name.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { type ServerClient, ServerRefused } from "./server-client.ts";
import { lockOrServer, storageTarget, withStorage } from "./storage-access.ts";

export const REPO_HELP = `Usage: berth repo delete NAME [--config FILE]

Deletes the repository NAME: its manifests, tags, layer links and uploads (a repository
nested below it, such as NAME/other, stays). It leaves the catalog at once; blobs no other
repository uses are freed by the next garbage collection once [gc] delay has passed.
When a server runs on the storage root, it does the delete (asked through its admin socket,
<storage.root>/berth/admin.sock: DELETE /api/v1/repositories/NAME, no credentials).`;

/** The tree of one repository, without the repositories nested below it. */
async function deleteFromTree(driver: StorageDriver, name: string): Promise<void> {
  // _manifests first: from then on no listing shows the repository, whatever a crash leaves
  await driver.delete(paths.manifestsRoot(name));
  await driver.delete(`${paths.repository(name)}/_layers`);
  await driver.delete(paths.uploadsRoot(name));
  await driver.delete(`${paths.berthRoot()}/referrers/${name}/_subjects`);
  await driver.delete(paths.referrersBuilt(name));
  if ((await driver.list(paths.repository(name))).length === 0) await driver.delete(paths.repository(name));
}

export async function repoCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, name, ...extra] = argv;
  if (sub !== "delete") throw new Error(`unknown repo command "${sub ?? ""}" (berth repo delete NAME)`);
  if (name === undefined || name.startsWith("-")) throw new Error("berth repo delete needs a repository NAME");
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}" (see berth repo --help)`);
  assertRepositoryName(name);
  const target = storageTarget(configFile);
  const server = lockOrServer(target.root);
  if (server) return deleteOnServer(server, name);
  await withStorage(target, async ({ driver, tree, index, delayMs }) => {
    await index.recover(tree);
    const children = await driver.list(paths.repository(name));
    const inTree = children.some((child) => child.startsWith("_"));
    if (!inTree && !(await index.hasRepository(name))) throw new Error(`no repository ${name} in this registry`);
    let queued: string[] = [];
    await index.change({ repository: name, digest: null, tag: null }, tree, () => deleteFromTree(driver, name), async (tx, _, now) => {
      queued = await deleteRepositoryRows(tx, name, "berth:cli", now, now + delayMs);
    });
    process.stdout.write(`deleted repository ${name}; ${queued.length} blob(s) it alone used wait for garbage collection\n`);
  });
}

async function deleteOnServer(server: ServerClient, name: string): Promise<void> {
  server.announce();
  try {
    await server.deleteRepository(name);
  } catch (error) {
    if (error instanceof ServerRefused && error.code === "NAME_UNKNOWN") throw new Error(`no repository ${name} in this registry (${error.message})`);
    throw error;
  }
  process.stdout.write(`deleted repository ${name}; blobs it alone used wait for garbage collection\n`);
}
