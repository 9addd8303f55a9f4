/**
 * `berth repo delete NAME`: removes a whole repository from the tree (its manifests, tags,
 * layer links, uploads and Berth's referrers of it; never a nested repository below it) and
 * from the index. Journaled like every change: a crash part-way is settled from the tree at
 * the next start. The blobs only it used wait in the GC queue ([gc] delay), as after a
 * manifest delete.
 */
import { assertRepositoryName } from "../oci/name.ts";
import { deleteRepository, repositoryPresent } from "../registry/repository-delete.ts";
import { withStorage } from "./storage-access.ts";

export const REPO_HELP = `Usage: berth repo delete NAME [--config FILE]

Deletes the repository NAME: its manifests, tags, layer links and uploads (a repository
nested below it, such as NAME/other, stays). It leaves the catalog at once; blobs no other
repository uses are freed by the next garbage collection once [gc] delay has passed.
Refused while a server runs on the storage root: stop it, or ask the running server with
the admin API: DELETE /api/v1/repositories/NAME.`;

export async function repoCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, name, ...extra] = argv;
  if (sub !== "delete") throw new Error(`unknown repo command "${sub ?? ""}" (berth repo delete NAME)`);
  if (name === undefined || name.startsWith("-")) throw new Error("berth repo delete needs a repository NAME");
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}" (see berth repo --help)`);
  assertRepositoryName(name);
  const whileServing = `delete it through the running server: DELETE /api/v1/repositories/${name} (admin)`;
  await withStorage({ configFile, exclusive: true, whileServing }, async ({ driver, tree, index }) => {
    await index.recover(tree);
    if (!(await repositoryPresent(driver, index, name))) throw new Error(`no repository ${name} in this registry`);
    const queued = await deleteRepository({ driver, index, tree }, name, "berth:cli");
    process.stdout.write(`deleted repository ${name}; ${queued.length} blob(s) it alone used wait for garbage collection\n`);
  });
}
