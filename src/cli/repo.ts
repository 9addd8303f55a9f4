/**
 * `berth repo delete NAME`: removes a whole repository from the tree (its manifests, tags,
 * layer links, uploads and Berth's referrers of it; never a nested repository below it) and
 * from the index. Journaled like every change: a crash part-way is settled from the tree at
 * the next start. The blobs only it used wait in the GC queue ([gc] delay), as after a
 * manifest delete. When a server holds the storage root, it is asked to do it instead.
 */
import { assertRepositoryName } from "../oci/name.ts";
import { deleteRepository, repositoryPresent } from "../registry/repository-delete.ts";
import { type ServerClient, ServerRefused } from "./server-client.ts";
import { lockOrServer, storageTarget, withStorage } from "./storage-access.ts";

export const REPO_HELP = `Usage: berth repo delete NAME [--config FILE]

Deletes the repository NAME: its manifests, tags, layer links and uploads (a repository
nested below it, such as NAME/other, stays). It leaves the catalog at once; blobs no other
repository uses are freed by the next garbage collection once [gc] delay has passed.
When a server runs on the storage root, it does the delete (asked through its admin socket,
<storage.root>/berth/admin.sock: DELETE /api/v1/repositories/NAME, no credentials).`;

export async function repoCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, name, ...extra] = argv;
  if (sub !== "delete") throw new Error(`unknown repo command "${sub ?? ""}" (berth repo delete NAME)`);
  if (name === undefined || name.startsWith("-")) throw new Error("berth repo delete needs a repository NAME");
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}" (see berth repo --help)`);
  assertRepositoryName(name);
  const target = storageTarget(configFile);
  const server = lockOrServer(target.root);
  if (server) return deleteOnServer(server, name);
  await withStorage(target, async ({ driver, tree, index }) => {
    await index.recover(tree);
    if (!(await repositoryPresent(driver, index, name))) throw new Error(`no repository ${name} in this registry`);
    const queued = await deleteRepository({ driver, index, tree }, name, "berth:cli");
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
