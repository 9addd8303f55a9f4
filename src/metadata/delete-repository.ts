/**
 * A whole repository removed (`berth repo delete`): its rows go, its tags' history records the
 * deletes, and the blobs it referenced that nothing else does join the GC queue.
 */
import type { SQL } from "bun";
import { rowsOf, str } from "./rows.ts";
import { queueIfUnreferenced } from "./writes.ts";

/** Inside the caller's transaction. @returns the blobs queued for GC */
export async function deleteRepositoryRows(tx: SQL, repository: string, actor: string, now: number, reviewAt: number): Promise<string[]> {
  const digests = (result: unknown, column: string) => rowsOf(result).map((row) => str(row, column));
  const blobs = [
    ...digests(await tx`SELECT child FROM manifest_references WHERE repository = ${repository} AND kind = 'blob'`, "child"),
    ...digests(await tx`SELECT digest FROM manifests WHERE repository = ${repository}`, "digest"),
  ];
  for (const row of rowsOf(await tx`DELETE FROM tags WHERE repository = ${repository} RETURNING tag`)) {
    await tx`INSERT INTO tag_history (id, repository, tag, digest, at, actor)
             VALUES (${crypto.randomUUID()}, ${repository}, ${str(row, "tag")}, ${null}, ${now}, ${actor})`;
  }
  await tx`DELETE FROM manifest_references WHERE repository = ${repository}`;
  await tx`DELETE FROM manifests WHERE repository = ${repository}`;
  await tx`DELETE FROM repository_blobs WHERE repository = ${repository}`;
  await tx`DELETE FROM repositories WHERE name = ${repository}`;
  return queueIfUnreferenced(tx, blobs, reviewAt);
}
